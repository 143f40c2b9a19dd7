/*
 * safe_open_test - unit tests for safe_open: symlinks, hard links,
 * directories, FIFOs and devices are refused and left unchanged; creation
 * is exclusive; ownership of new files.  The module is included so that
 * the lstat/fstat comparison, which only a race reaches, can be tested
 * with made-up stat results.
 */
#include <sys/types.h>
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/util/safe_open.c"
#include "lib/util/str.h"
#include "lib/util/test.h"

static char tmpdir[] = "/tmp/safe_open_test.XXXXXX";
static struct str *path_buf;

/* tmpdir/name, in a static buffer. */
static const char *
in_tmp(const char *name)
{
	str_fmt(path_buf, "%s/%s", tmpdir, name);
	return str_ptr(path_buf);
}

static void
put_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	if (fp) {
		fputs(text, fp);
		fclose(fp);
	}
}

/* The file's contents (up to 99 bytes), or "(missing)". */
static const char *
get_file(const char *path)
{
	static char buf[100];
	FILE *fp = fopen(path, "r");
	size_t n;

	if (fp == NULL)
		return "(missing)";
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	buf[n] = 0;
	fclose(fp);
	return buf;
}

static void
test_create(struct test *t)
{
	struct str *why = str_new(0);
	struct stat st, st2;
	char mbox[200];
	int fd, fd2;

	snprintf(mbox, sizeof(mbox), "%s", in_tmp("mbox"));
	fd = safe_open(mbox, O_WRONLY | O_APPEND | O_CREAT, 0600, &st,
	    (uid_t)-1, (gid_t)-1, why);
	TEST_TRUE(t, fd >= 0);
	TEST_TRUE(t, S_ISREG(st.st_mode));
	TEST_INT(t, st.st_mode & 07777, 0600);
	TEST_INT(t, st.st_nlink, 1);
	TEST_TRUE(t, (fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
	TEST_INT(t, write(fd, "hello\n", 6), 6);

	/* O_CREAT on an existing file opens it. */
	fd2 = safe_open(mbox, O_WRONLY | O_APPEND | O_CREAT, 0600, &st2,
	    (uid_t)-1, (gid_t)-1, why);
	TEST_TRUE(t, fd2 >= 0);
	TEST_INT(t, st2.st_ino, st.st_ino);
	TEST_INT(t, st2.st_size, 6);
	TEST_INT(t, fcntl(fd2, F_GETFL) & O_NONBLOCK, 0);
	close(fd2);

	/* O_CREAT | O_EXCL does not. */
	TEST_INT(t,
	    safe_open(mbox, O_WRONLY | O_CREAT | O_EXCL, 0600, NULL, (uid_t)-1,
		(gid_t)-1, why),
	    -1);
	TEST_INT(t, errno, EEXIST);
	TEST_STR(t, str_ptr(why),
	    "cannot create file exclusively: File exists");

	/* O_TRUNC on an acceptable file truncates it, after the checks. */
	fd2 = safe_open(mbox, O_WRONLY | O_TRUNC, 0, &st2, (uid_t)-1, (gid_t)-1,
	    NULL);
	TEST_TRUE(t, fd2 >= 0);
	TEST_INT(t, st2.st_size, 0);
	close(fd2);
	close(fd);

	/* Read-only open without st or why. */
	fd = safe_open(mbox, O_RDONLY, 0, NULL, (uid_t)-1, (gid_t)-1, NULL);
	TEST_TRUE(t, fd >= 0);
	close(fd);
	unlink(mbox);

	/* Not there, not to be created. */
	TEST_INT(t,
	    safe_open(mbox, O_RDONLY, 0, &st, (uid_t)-1, (gid_t)-1, why), -1);
	TEST_INT(t, errno, ENOENT);
	TEST_STR(t, str_ptr(why),
	    "cannot open file: No such file or directory");
	str_free(why);
}

static void
test_symlink(struct test *t)
{
	static const int flags[] = { O_RDONLY, O_WRONLY | O_APPEND,
		O_WRONLY | O_TRUNC, O_WRONLY | O_CREAT | O_TRUNC,
		O_RDWR | O_CREAT | O_APPEND };
	struct str *why = str_new(0);
	char victim[200], link_[200], dangle[200], target[200];

	snprintf(victim, sizeof(victim), "%s", in_tmp("victim"));
	snprintf(link_, sizeof(link_), "%s", in_tmp("link"));
	snprintf(dangle, sizeof(dangle), "%s", in_tmp("dangle"));
	snprintf(target, sizeof(target), "%s", in_tmp("target"));
	put_file(victim, "secret");
	TEST_INT(t, symlink(victim, link_), 0);
	TEST_INT(t, symlink(target, dangle), 0);
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		str_reset(why);
		TEST_INT(t,
		    safe_open(link_, flags[i], 0600, NULL, (uid_t)-1, (gid_t)-1,
			why),
		    -1);
		TEST_STR(t, str_ptr(why), "file is a symbolic link");
		TEST_INT(t, errno, EPERM);
		str_reset(why);
		TEST_INT(t,
		    safe_open(dangle, flags[i], 0600, NULL, (uid_t)-1,
			(gid_t)-1, why),
		    -1);
		TEST_STR(t, str_ptr(why), "file is a symbolic link");
	}
	/* Neither the victim nor the dangling target was touched. */
	TEST_STR(t, get_file(victim), "secret");
	TEST_STR(t, get_file(target), "(missing)");
	unlink(link_);
	unlink(dangle);
	unlink(victim);
	str_free(why);
}

static void
test_hardlink(struct test *t)
{
	struct str *why = str_new(0);
	char victim[200], hard[200];

	snprintf(victim, sizeof(victim), "%s", in_tmp("victim"));
	snprintf(hard, sizeof(hard), "%s", in_tmp("hard"));
	put_file(victim, "secret");
	TEST_INT(t, link(victim, hard), 0);
	TEST_INT(t,
	    safe_open(hard, O_WRONLY | O_TRUNC, 0, NULL, (uid_t)-1, (gid_t)-1,
		why),
	    -1);
	TEST_STR(t, str_ptr(why), "file has 2 hard links");
	TEST_INT(t, errno, EPERM);
	TEST_INT(t,
	    safe_open(hard, O_WRONLY | O_CREAT | O_TRUNC, 0600, NULL, (uid_t)-1,
		(gid_t)-1, why),
	    -1);
	TEST_STR(t, str_ptr(why), "file has 2 hard links");
	/* Either name: it is the same file. */
	TEST_INT(t,
	    safe_open(victim, O_RDONLY, 0, NULL, (uid_t)-1, (gid_t)-1, why),
	    -1);
	TEST_STR(t, str_ptr(why), "file has 2 hard links");
	TEST_STR(t, get_file(victim), "secret");
	unlink(hard);
	unlink(victim);
	str_free(why);
}

static void
test_not_regular(struct test *t)
{
	struct str *why = str_new(0);
	char fifo[200];
	time_t start;

	TEST_INT(t,
	    safe_open(tmpdir, O_RDONLY, 0, NULL, (uid_t)-1, (gid_t)-1, why),
	    -1);
	TEST_STR(t, str_ptr(why), "file is a directory");
	TEST_INT(t, errno, EISDIR);
	TEST_INT(t,
	    safe_open(tmpdir, O_WRONLY | O_APPEND, 0, NULL, (uid_t)-1,
		(gid_t)-1, why),
	    -1);
	TEST_STR(t, str_ptr(why), "file is a directory");
	TEST_INT(t,
	    safe_open(tmpdir, O_WRONLY | O_CREAT, 0600, NULL, (uid_t)-1,
		(gid_t)-1, why),
	    -1);
	TEST_STR(t, str_ptr(why), "file is a directory");

	/* A FIFO with nobody on the other side must not block us. */
	snprintf(fifo, sizeof(fifo), "%s", in_tmp("fifo"));
	TEST_INT(t, mkfifo(fifo, 0600), 0);
	start = time(NULL);
	TEST_INT(t,
	    safe_open(fifo, O_RDONLY, 0, NULL, (uid_t)-1, (gid_t)-1, why), -1);
	TEST_STR(t, str_ptr(why), "file is not a regular file");
	TEST_INT(t,
	    safe_open(fifo, O_WRONLY | O_CREAT | O_APPEND, 0600, NULL,
		(uid_t)-1, (gid_t)-1, why),
	    -1);
	TEST_STR(t, str_ptr(why),
	    "cannot open file: No such device or address");
	TEST_TRUE(t, time(NULL) - start < 2);
	unlink(fifo);

	TEST_INT(t,
	    safe_open("/dev/null", O_WRONLY | O_APPEND, 0, NULL, (uid_t)-1,
		(gid_t)-1, why),
	    -1);
	TEST_STR(t, str_ptr(why), "file is not a regular file");
	TEST_INT(t, safe_open("", O_RDONLY, 0, NULL, (uid_t)-1, (gid_t)-1, why),
	    -1);
	TEST_STR(t, str_ptr(why),
	    "cannot open file: No such file or directory");
	str_free(why);
}

static void
test_owner(struct test *t)
{
	struct str *why = str_new(0);
	struct stat st;
	char path[200];
	int fd;

	snprintf(path, sizeof(path), "%s", in_tmp("owned"));
	if (geteuid() == 0) {
		fd = safe_open(path, O_WRONLY | O_CREAT | O_EXCL, 0600, &st,
		    4321, 4322, why);
		TEST_TRUE(t, fd >= 0);
		TEST_INT(t, st.st_uid, 4321);
		TEST_INT(t, st.st_gid, 4322);
		close(fd);
		unlink(path);
		/* One of the two may be -1: that one is left alone. */
		fd = safe_open(path, O_WRONLY | O_CREAT, 0600, &st, 4321,
		    (gid_t)-1, why);
		TEST_TRUE(t, fd >= 0);
		TEST_INT(t, st.st_uid, 4321);
		TEST_INT(t, st.st_gid, getegid());
		close(fd);
	} else {
		fd = safe_open(path, O_WRONLY | O_CREAT | O_EXCL, 0600, &st, 0,
		    0, why);
		TEST_INT(t, fd, -1);
		TEST_STR(t, str_ptr(why),
		    "cannot change file ownership: Operation not permitted");
	}
	unlink(path);
	str_free(why);
}

/* What only a race reaches: the name now points elsewhere. */
static void
test_check(struct test *t)
{
	struct str *why = str_new(0);
	struct stat fst, lst;

	memset(&fst, 0, sizeof(fst));
	fst.st_mode = S_IFREG | 0600;
	fst.st_nlink = 1;
	fst.st_dev = 1;
	fst.st_ino = 42;
	lst = fst;
	TEST_INT(t, safe_open_check(&fst, &lst, why), 0);
	lst.st_ino = 43;
	TEST_INT(t, safe_open_check(&fst, &lst, why), -1);
	TEST_STR(t, str_ptr(why), "file status changed unexpectedly");
	lst = fst;
	lst.st_dev = 2;
	TEST_INT(t, safe_open_check(&fst, &lst, why), -1);
	lst = fst;
	lst.st_mode = S_IFREG | 0644;
	TEST_INT(t, safe_open_check(&fst, &lst, why), -1);
	TEST_STR(t, str_ptr(why), "file status changed unexpectedly");
	lst = fst;
	lst.st_nlink = 2;
	TEST_INT(t, safe_open_check(&fst, &lst, why), -1);
	lst = fst;
	lst.st_mode = S_IFLNK | 0777;
	TEST_INT(t, safe_open_check(&fst, &lst, why), -1);
	TEST_STR(t, str_ptr(why), "file is a symbolic link");
	lst = fst;
	fst.st_nlink = 0;
	TEST_INT(t, safe_open_check(&fst, &lst, why), -1);
	TEST_STR(t, str_ptr(why), "file has 0 hard links");
	fst.st_nlink = 1;
	fst.st_mode = S_IFSOCK | 0600;
	TEST_INT(t, safe_open_check(&fst, &lst, why), -1);
	TEST_STR(t, str_ptr(why), "file is not a regular file");
	str_free(why);
}

static const struct test_case cases[] = {
	{ "create", test_create },
	{ "symlink", test_symlink },
	{ "hardlink", test_hardlink },
	{ "not_regular", test_not_regular },
	{ "owner", test_owner },
	{ "check", test_check },
	{ 0 },
};

int
main(void)
{
	int rc;

	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	path_buf = str_new(0);
	rc = test_main(__FILE__, cases);
	str_free(path_buf);
	rmdir(tmpdir);
	return rc;
}
