/*
 * queue_test - queue names and IDs (every reject path), hashed paths as
 * Postfix lays them out, creating, finishing, moving, removing and
 * scanning queue files in a scratch queue directory, the corrupt-file
 * warning, and the size record.
 */
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/util/str.h"
#include "lib/util/test.h"
#include "lib/mail/params.h"
#include "lib/mail/queue.h"

static char tmpdir[] = "/tmp/queue_test.XXXXXX";

static void
defaults(void)
{
	var_hash_queue_names = (char *)"deferred, defer";
	var_hash_queue_depth = 1;
	var_enable_long_queue_ids = false;
}

static void
test_names(struct test *t)
{
	static const char *const good[] = { "maildrop", "incoming", "active",
		"deferred", "hold", "corrupt", "bounce", "defer", "trace",
		"flush", "saved" };
	static const char *const bad[] = { "", ".", "..", "../incoming",
		"incoming/", "/incoming", "INCOMING", "pid", "public",
		"incoming ", "deferred/5" };

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!queue_name_ok(good[i]))
			TEST_FAIL(t, "%s: refused", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (queue_name_ok(bad[i]))
			TEST_FAIL(t, "\"%s\": accepted", bad[i]);
}

static void
test_ids(struct test *t)
{
	static const char *const good[] = { "9200EA7227E", "546C7A7258F",
		"15F81A721A9", "ABCDE1", "0000000000000000000000000000000F",
		"4jXCrT3sgnz1bcJr", "4jXCrT3sgnz1", "zzzzzzzzzzz1",
		"4jXCrTz3sgnz1bc" };
	static const char *const bad[] = {
		"",
		".",
		"..",
		"/",
		"../etc",
		"a/b",
		"ABCDE/../../x",
		"ABCDE",
		"9200ea7227e",
		"9200EA7227G",
		"9200EA 7227E",
		"9200EA7227E\n",
		"9200EA7227E.",
		"123456.789",
		"-ABCDEF",
		"00000000000000000000000000000000F", /* 33 characters */
		"4jXCrT3sgnz",
		"4jXCrT3sgz1bc",
		"4jXCrT3sgnz1bcAr",
		"4jXCrT3sgnz1b/J",
		"4jXCrT3sgnz1b.J",
		"4jXCr_3sgnz1bcJ",
		"4jXCrT3sgnz1bc\xc3\xa9",
		"zzzzzzzzzzz",
	};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!queue_id_ok(good[i]))
			TEST_FAIL(t, "%s: refused", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (queue_id_ok(bad[i]))
			TEST_FAIL(t, "\"%s\": accepted", bad[i]);
}

static void
test_paths(struct test *t)
{
	static const struct {
		const char *names;
		int depth;
		const char *queue, *id, *want;
	} cases[] = {
		{ "deferred, defer", 1, "incoming", "546C7A7258F",
		    "incoming/546C7A7258F" },
		{ "deferred, defer", 1, "deferred", "546C7A7258F",
		    "deferred/5/546C7A7258F" },
		{ "deferred, defer", 1, "defer", "546C7A7258F",
		    "defer/5/546C7A7258F" },
		{ "deferred, defer", 1, "deferred", "4jXCrT3sgnz1bcJr",
		    "deferred/8/4jXCrT3sgnz1bcJr" },
		{ "deferred, defer", 2, "deferred", "546C7A7258F",
		    "deferred/5/4/546C7A7258F" },
		{ "deferred, defer", 2, "deferred", "4jXCrT3sgnz1bcJr",
		    "deferred/8/5/4jXCrT3sgnz1bcJr" },
		{ "deferred", 6, "deferred", "546C7A7258F",
		    "deferred/5/4/6/C/7/_/546C7A7258F" },
		{ "\tdefer,hold ,,incoming", 1, "hold", "ABCDE1",
		    "hold/A/ABCDE1" },
		{ "\tdefer,hold ,,incoming", 1, "incoming", "ABCDE1",
		    "incoming/A/ABCDE1" },
		{ "\tdefer,hold ,,incoming", 1, "deferred", "ABCDE1",
		    "deferred/ABCDE1" },
		{ "", 1, "deferred", "ABCDE1", "deferred/ABCDE1" },
		{ "deferredx, xdeferred, deferre", 1, "deferred", "ABCDE1",
		    "deferred/ABCDE1" },
	};
	struct str *path = str_new(50);

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		var_hash_queue_names = (char *)cases[i].names;
		var_hash_queue_depth = cases[i].depth;
		queue_path(path, cases[i].queue, cases[i].id);
		TEST_STR(t, str_ptr(path), cases[i].want);
	}
	defaults();
	str_free(path);
}

static const char *bad_path_child_arg;

static void
bad_path_child(void *ctx)
{
	struct str *path = str_new(10);

	(void)ctx;
	queue_path(path, "incoming", bad_path_child_arg);
}

/* Code that forgot to check an ID dies instead of making a path. */
static void
test_path_panics(struct test *t)
{
	static const char *const ids[] = { "../../etc/passwd", "", "a/b" };

	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		bad_path_child_arg = ids[i];
		TEST_STR(t, test_fatal(bad_path_child, NULL),
		    "(child died without a message)");
	}
}

/* Decode a long ID's parts (for checking what queue_create made). */
static unsigned long
b52(const char *p, size_t n, unsigned long base)
{
	static const char a[] =
	    "0123456789BCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz";
	unsigned long v = 0;

	for (size_t i = 0; i < n; i++)
		v = v * base + (unsigned long)(strchr(a, p[i]) - a);
	return v;
}

static void
test_create_finish(struct test *t)
{
	struct str *id = str_new(20), *why = str_new(20), *path = str_new(20);
	struct str *want = str_new(20);
	struct stat st;
	int fd;

	defaults();
	fd = queue_create("incoming", id, why);
	TEST_TRUE(t, fd >= 0);
	TEST_TRUE(t, queue_id_ok(str_ptr(id)));
	queue_path(path, "incoming", str_ptr(id));
	TEST_INT(t, lstat(str_ptr(path), &st), 0);
	TEST_INT(t, st.st_mode & 07777, 0600);
	TEST_TRUE(t, !queue_complete(&st));
	/* Short ID: five hex digits of microseconds, then the inode. */
	str_fmt(want, "%lX", (unsigned long)st.st_ino);
	TEST_STR(t, str_ptr(id) + 5, str_ptr(want));
	TEST_INT(t, fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	TEST_INT(t, write(fd, "x", 1), 1);
	TEST_INT(t, queue_finish(fd, "incoming", str_ptr(id), 0700, why), 0);
	TEST_INT(t, lstat(str_ptr(path), &st), 0);
	TEST_INT(t, st.st_mode & 07777, 0700);
	TEST_TRUE(t, queue_complete(&st));
	close(fd);

	/* Long IDs: seconds, four digits of microseconds, z, the inode. */
	var_enable_long_queue_ids = true;
	fd = queue_create("incoming", id, why);
	TEST_TRUE(t, fd >= 0);
	TEST_TRUE(t, queue_id_ok(str_ptr(id)));
	queue_path(path, "incoming", str_ptr(id));
	TEST_INT(t, lstat(str_ptr(path), &st), 0);
	{
		const char *z = strrchr(str_ptr(id), 'z');
		unsigned long sec =
		    b52(str_ptr(id), (size_t)(z - 4 - str_ptr(id)), 52);

		TEST_TRUE(t, z != NULL && z - str_ptr(id) >= 10);
		TEST_TRUE(t, sec + 5 >= (unsigned long)time(NULL) &&
				 sec <= (unsigned long)time(NULL) + 1);
		TEST_TRUE(t, b52(z - 4, 4, 52) < 1000000);
		TEST_INT(t, b52(z + 1, strlen(z + 1), 51), st.st_ino);
	}
	close(fd);
	defaults();

	/* A hashed queue gets its subdirectory on demand. */
	var_hash_queue_names = (char *)"hold";
	fd = queue_create("hold", id, why);
	TEST_TRUE(t, fd >= 0);
	str_fmt(want, "hold/%c/%s", str_ptr(id)[0], str_ptr(id));
	queue_path(path, "hold", str_ptr(id));
	TEST_STR(t, str_ptr(path), str_ptr(want));
	TEST_INT(t, lstat(str_ptr(path), &st), 0);
	TEST_INT(t, queue_finish(fd, "hold", str_ptr(id), 0700, why), 0);
	close(fd);
	defaults();

	/* No such queue directory. */
	str_reset(why);
	TEST_INT(t, queue_create("saved", id, why), -1);
	TEST_TRUE(t, strstr(str_ptr(why), "create file saved/") != NULL);
	TEST_TRUE(t, strstr(str_ptr(why), "No such file or directory") != NULL);

	/* queue_finish reports a bad descriptor. */
	str_reset(why);
	TEST_INT(t, queue_finish(-1, "incoming", "ABCDE1", 0700, why), -1);
	TEST_STR(t, str_ptr(why),
	    "change queue file incoming/ABCDE1 mode: Bad file descriptor");
	str_free(id);
	str_free(why);
	str_free(path);
	str_free(want);
}

/* Make an empty complete file QUEUE/ID (hashed as configured). */
static void
make_file(const char *queue, const char *id)
{
	struct str *path = str_new(20);
	int fd;

	queue_path(path, queue, id);
	if ((fd = open(str_ptr(path), O_CREAT | O_WRONLY, 0700)) < 0) {
		perror(str_ptr(path));
		exit(2);
	}
	close(fd);
	str_free(path);
}

static void
test_move_remove(struct test *t)
{
	struct str *why = str_new(20);
	struct stat st;

	defaults();
	make_file("incoming", "ABCDE1");
	TEST_INT(t, queue_move("incoming", "ABCDE1", "deferred", why), 0);
	TEST_INT(t, lstat("deferred/A/ABCDE1", &st), 0);
	TEST_INT(t, lstat("incoming/ABCDE1", &st), -1);
	TEST_INT(t, queue_move("deferred", "ABCDE1", "active", why), 0);
	TEST_INT(t, lstat("active/ABCDE1", &st), 0);

	/* Nothing to move: ENOENT, and no hash directory is made. */
	str_reset(why);
	TEST_INT(t, queue_move("incoming", "FEDCB1", "deferred", why), -1);
	TEST_INT(t, errno, ENOENT);
	TEST_STR(t, str_ptr(why),
	    "rename incoming/FEDCB1 to deferred/F/FEDCB1: No such file or directory");
	TEST_INT(t, lstat("deferred/F", &st), -1);

	/* Never replace a file of the same name. */
	make_file("hold", "ABCDE1");
	str_reset(why);
	TEST_INT(t, queue_move("active", "ABCDE1", "hold", why), -1);
	TEST_INT(t, errno, EEXIST);
	TEST_INT(t, lstat("active/ABCDE1", &st), 0);

	/* A batch: renames first, then the syncs (qmgr's incoming scan). */
	make_file("incoming", "CBCDE1");
	make_file("incoming", "CBCDE2");
	TEST_INT(t, queue_move_rename("incoming", "CBCDE1", "deferred", why),
	    0);
	TEST_INT(t, queue_move_rename("incoming", "CBCDE2", "deferred", why),
	    0);
	TEST_INT(t, lstat("deferred/C/CBCDE1", &st), 0);
	TEST_INT(t, lstat("deferred/C/CBCDE2", &st), 0);
	TEST_INT(t, lstat("incoming/CBCDE1", &st), -1);
	TEST_INT(t, queue_move_sync("incoming", "CBCDE1", "deferred", why), 0);
	TEST_INT(t, queue_move_sync("incoming", "CBCDE2", "deferred", why), 0);
	str_reset(why);
	TEST_INT(t, queue_move_rename("incoming", "CBCDE1", "deferred", why),
	    -1);
	TEST_INT(t, errno, ENOENT);
	TEST_INT(t, queue_remove("deferred", "CBCDE1"), 0);
	TEST_INT(t, queue_remove("deferred", "CBCDE2"), 0);
	TEST_INT(t, rmdir("deferred/C"), 0);

	TEST_INT(t, queue_remove("active", "ABCDE1"), 0);
	TEST_INT(t, queue_remove("hold", "ABCDE1"), 0);
	TEST_INT(t, queue_remove("hold", "ABCDE1"), -1);
	TEST_INT(t, errno, ENOENT);
	str_free(why);
}

static void
test_corrupt(struct test *t)
{
	struct stat st;

	struct str *why = str_new(10);

	defaults();
	make_file("incoming", "12345A");
	TEST_INT(t, queue_move("incoming", "12345A", "deferred", why), 0);
	str_free(why);
	test_log_reset();
	queue_corrupt("deferred", "12345A", "unexpected EOF in data");
	TEST_STR(t, test_log_text(),
	    "warning: deferred/12345A: unexpected EOF in data -- moved to corrupt/\n");
	TEST_INT(t, lstat("corrupt/12345A", &st), 0);
	TEST_INT(t, lstat("deferred/1/12345A", &st), -1);

	test_log_reset();
	queue_corrupt("incoming", "12345B", "no end record");
	TEST_STR(t, test_log_text(),
	    "warning: incoming/12345B: no end record -- not moved to corrupt/: "
	    "rename incoming/12345B to corrupt/12345B: No such file or directory\n");
	TEST_INT(t, queue_remove("corrupt", "12345A"), 0);
}

static void
test_scan(struct test *t)
{
	static const char *const ids[] = { "ABCDE1", "ABCDE2", "12345A",
		"4jXCrT3sgnz1bcJr" };
	struct queue_scan *scan;
	struct str *seen = str_new(50);
	const char *id;
	int n = 0, fd;

	defaults();
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		struct str *why = str_new(10);

		make_file("incoming", ids[i]);
		TEST_INT(t, queue_move("incoming", ids[i], "deferred", why), 0);
		str_free(why);
	}
	/* Things that are not queue files, or not where they belong. */
	fd = open("deferred/A/123.456", O_CREAT | O_WRONLY, 0600);
	close(fd);
	fd = open("deferred/A/.hidden", O_CREAT | O_WRONLY, 0600);
	close(fd);
	fd = open("deferred/ABCDE9", O_CREAT | O_WRONLY, 0600);
	close(fd);
	TEST_INT(t, mkdir("deferred/xx", 0700), 0);
	TEST_INT(t, mkdir("outside", 0700), 0);
	fd = open("outside/ABCDE7", O_CREAT | O_WRONLY, 0600);
	close(fd);
	TEST_INT(t, symlink("../outside", "deferred/B"), 0);

	scan = queue_scan_open("deferred");
	TEST_TRUE(t, scan != NULL);
	while (scan && (id = queue_scan_next(scan)) != NULL) {
		str_catfmt(seen, "%s ", id);
		n++;
	}
	TEST_INT(t, n, 4);
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
		if (strstr(str_ptr(seen), ids[i]) == NULL)
			TEST_FAIL(t, "%s not seen in %s", ids[i],
			    str_ptr(seen));
	TEST_TRUE(t, queue_scan_close(scan) == NULL);
	TEST_TRUE(t, queue_scan_close(NULL) == NULL);

	/* Unhashed: the files at the top only. */
	var_hash_queue_names = (char *)"";
	scan = queue_scan_open("deferred");
	str_reset(seen);
	while (scan && (id = queue_scan_next(scan)) != NULL)
		str_catfmt(seen, "%s ", id);
	TEST_STR(t, str_ptr(seen), "ABCDE9 ");
	queue_scan_close(scan);
	defaults();

	TEST_TRUE(t, queue_scan_open("saved") == NULL);
	str_free(seen);
}

static void
test_size(struct test *t)
{
	struct queue_size in = { 331, 357, 2, 0, 331, 0 }, out;
	struct str *s = str_new(100);
	static const char *const bad[] = {
		"",
		"1 2 3 4 5",
		"1 2 3 4 5 6 7",
		"1 2 3 4 5 -6",
		"1 2 3 4 5 x",
		"1 2 3 4 5 6 ",
		"1\t2 3 4 5 6",
		"1 2 3 4 5 99999999999999999999",
		" 1 2 3 4 5 6x",
		"1 2 3 4 5 +6",
	};

	queue_size_fmt(s, &in);
	/* As Postfix writes it (postcat shows it verbatim). */
	TEST_STR(t, str_ptr(s),
	    "            331             357               2               0"
	    "             331               0");
	TEST_INT(t, queue_size_parse(str_ptr(s), &out), 0);
	TEST_INT(t, out.content_size, 331);
	TEST_INT(t, out.data_offset, 357);
	TEST_INT(t, out.rcpt_count, 2);
	TEST_INT(t, out.content_length, 331);
	TEST_INT(t, queue_size_parse("1 2 3 4 5 6", &out), 0);
	TEST_INT(t, out.smtputf8, 6);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		out.content_size = -99;
		if (queue_size_parse(bad[i], &out) != -1 ||
		    out.content_size != -99)
			TEST_FAIL(t, "\"%s\": accepted", bad[i]);
	}
	str_free(s);
}

static const struct test_case cases[] = {
	{ "names", test_names },
	{ "ids", test_ids },
	{ "paths", test_paths },
	{ "path_panics", test_path_panics },
	{ "create_finish", test_create_finish },
	{ "move_remove", test_move_remove },
	{ "corrupt", test_corrupt },
	{ "scan", test_scan },
	{ "size", test_size },
	{ 0 },
};

int
main(void)
{
	static const char *const dirs[] = { "incoming", "active", "deferred",
		"hold", "corrupt", "maildrop" };
	char cmd[300];
	int rc;

	if (mkdtemp(tmpdir) == NULL || chdir(tmpdir) < 0) {
		perror(tmpdir);
		return 2;
	}
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if (mkdir(dirs[i], 0700) < 0) {
			perror(dirs[i]);
			return 2;
		}
	defaults();
	rc = test_main(__FILE__, cases);
	if (chdir("/") < 0)
		rc = 1;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		rc = 1;
	return rc;
}
