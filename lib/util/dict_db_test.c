/*
 * dict_db_test - hash: and btree: on Berkeley DB: build, read, NUL forms,
 * folding, duplicates, delete, sequence, change detection, and corrupt
 * files.  When Debian's postmap is installed, files are also exchanged
 * with it in both directions.
 */
#include <sys/file.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/util/dict.h"
#include "lib/util/str.h"
#include "lib/util/test.h"

static char tmpdir[] = "/tmp/dict_db_test.XXXXXX";

/* A path in the test directory; four calls may be used at once. */
static const char *
tpath(const char *name)
{
	static struct str *bufs[4];
	static int next;
	struct str *buf;

	next = (next + 1) % 4;
	if (bufs[next] == NULL)
		bufs[next] = str_new(100);
	buf = bufs[next];
	str_fmt(buf, "%s/%s", tmpdir, name);
	return str_ptr(buf);
}

static void
write_file(const char *path, const void *data, size_t len)
{
	FILE *fp = fopen(path, "w");

	if (fp == NULL)
		return;
	fwrite(data, 1, len, fp);
	fclose(fp);
}

static struct dict *
build(const char *type, const char *name, int flags, struct str *why)
{
	struct str *spec = str_new(100);
	struct dict *d;

	str_fmt(spec, "%s:%s", type, tpath(name));
	d = dict_open(str_ptr(spec), O_RDWR | O_CREAT | O_TRUNC, flags, why);
	str_free(spec);
	return d;
}

static struct dict *
reopen(const char *type, const char *name, int flags, struct str *why)
{
	struct str *spec = str_new(100);
	struct dict *d;

	str_fmt(spec, "%s:%s", type, tpath(name));
	d = dict_open(str_ptr(spec), O_RDONLY, flags, why);
	str_free(spec);
	return d;
}

static void
test_build_read(struct test *t)
{
	static const char *const types[] = { "hash", "btree", NULL };
	struct str *why = str_new(0);

	for (int i = 0; types[i]; i++) {
		struct dict *d = build(types[i], "t1", DICT_FLAGS_BUILD, why);
		const char *k, *v;
		int n = 0;

		if (d == NULL) {
			TEST_FAIL(t, "%s build: %s", types[i], str_ptr(why));
			continue;
		}
		TEST_INT(t, dict_put(d, "Foo", "bar"), 0);
		TEST_INT(t, dict_put(d, "k2", "v2"), 0);
		TEST_INT(t, dict_put(d, "K2", "dup"), 1);
		TEST_INT(t, dict_put(d, "empty", ""), 0);
		TEST_INT(t, dict_sync(d), 0);
		dict_close(d);

		d = reopen(types[i], "t1", DICT_FLAGS_READ, why);
		if (d == NULL) {
			TEST_FAIL(t, "%s reopen: %s", types[i], str_ptr(why));
			continue;
		}
		TEST_STR(t, d->type, types[i]);
		TEST_STR(t, dict_get(d, "FOO"), "bar");
		TEST_STR(t, dict_get(d, "k2"), "v2");
		TEST_STR(t, dict_get(d, "empty"), "");
		TEST_TRUE(t, dict_get(d, "nope") == NULL);
		TEST_INT(t, d->error, DICT_ERR_NONE);
		/* The NUL form worked, so the other one is no longer tried. */
		TEST_TRUE(t, (d->flags & DICT_FLAG_TRY0NULL) == 0);
		for (int f = DICT_SEQ_FIRST; dict_seq(d, f, &k, &v) == 0;
		     f = DICT_SEQ_NEXT) {
			n++;
			if (strcmp(k, "foo") == 0)
				TEST_STR(t, v, "bar");
		}
		TEST_INT(t, n, 3);
		TEST_INT(t, dict_put(d, "x", "y"), -1);
		TEST_TRUE(t, !dict_changed(d));
		dict_close(d);
	}
	str_free(why);
}

static void
test_nonul(struct test *t)
{
	struct str *why = str_new(0);
	struct dict *d = build("hash", "t0",
	    DICT_FLAG_TRY0NULL | DICT_FLAG_DUP_REPLACE, why);

	TEST_TRUE(t, d != NULL);
	if (d == NULL)
		goto out;
	TEST_INT(t, dict_put(d, "Key", "v"), 0);
	TEST_INT(t, dict_put(d, "Key", "w"), 0);
	dict_close(d);
	d = reopen("hash", "t0", DICT_FLAGS_READ, why);
	TEST_TRUE(t, d != NULL);
	if (d == NULL)
		goto out;
	/* Not folded when built: the folded key does not match. */
	TEST_TRUE(t, dict_get(d, "key") == NULL);
	TEST_TRUE(t, (d->flags & DICT_FLAG_TRY0NULL) != 0);
	d->flags &= ~DICT_FLAG_FOLD_FIX;
	TEST_STR(t, dict_get(d, "Key"), "w");
	TEST_TRUE(t, (d->flags & DICT_FLAG_TRY1NULL) == 0);
	dict_close(d);
out:
	str_free(why);
}

static void
test_update_delete(struct test *t)
{
	struct str *why = str_new(0);
	struct dict *d = build("btree", "t2", DICT_FLAGS_BUILD, why);
	struct str *spec = str_new(0);

	if (d == NULL) {
		TEST_FAIL(t, "build: %s", str_ptr(why));
		goto out;
	}
	TEST_INT(t, dict_put(d, "a", "1"), 0);
	dict_close(d);
	str_fmt(spec, "btree:%s", tpath("t2"));
	d = dict_open(str_ptr(spec), O_RDWR,
	    DICT_FLAG_LOCK | DICT_FLAG_FOLD_FIX | DICT_FLAG_TRY0NULL |
		DICT_FLAG_TRY1NULL | DICT_FLAG_DUP_REPLACE,
	    why);
	if (d == NULL) {
		TEST_FAIL(t, "open rdwr: %s", str_ptr(why));
		goto out;
	}
	TEST_INT(t, dict_put(d, "A", "2"), 0);
	TEST_STR(t, dict_get(d, "a"), "2");
	TEST_INT(t, dict_put(d, "b", "3"), 0);
	TEST_INT(t, dict_del(d, "B"), 0);
	TEST_INT(t, dict_del(d, "b"), 1);
	TEST_TRUE(t, dict_get(d, "b") == NULL);
	dict_close(d);
out:
	str_free(spec);
	str_free(why);
}

/* postmap -i on a table that does not exist yet: create, not truncate. */
static void
test_create_incremental(struct test *t)
{
	struct str *why = str_new(0), *spec = str_new(0);
	static const char *const types[] = { "hash", "btree", NULL };

	for (int i = 0; types[i]; i++) {
		struct dict *d;

		str_fmt(spec, "%s:%s", types[i], tpath(types[i]));
		d = dict_open(str_ptr(spec), O_RDWR | O_CREAT,
		    DICT_FLAGS_BUILD & ~DICT_FLAG_BULK_UPDATE, why);
		if (d == NULL) {
			TEST_FAIL(t, "%s: %s", str_ptr(spec), str_ptr(why));
			continue;
		}
		TEST_INT(t, dict_put(d, "a", "1"), 0);
		dict_close(d);
		/* Again, on the existing file: the entry stays. */
		d = dict_open(str_ptr(spec), O_RDWR | O_CREAT,
		    DICT_FLAGS_BUILD & ~DICT_FLAG_BULK_UPDATE, why);
		if (d == NULL) {
			TEST_FAIL(t, "%s: %s", str_ptr(spec), str_ptr(why));
			continue;
		}
		TEST_INT(t, dict_put(d, "b", "2"), 0);
		TEST_STR(t, dict_get(d, "a"), "1");
		dict_close(d);
	}
	str_free(spec);
	str_free(why);
}

/* A build holds an exclusive flock until close, as Postfix's postmap. */
static void
test_lock(struct test *t)
{
	struct str *why = str_new(0), *spec = str_new(0);
	struct dict *w, *r;
	int fd;

	w = build("hash", "lk", DICT_FLAGS_BUILD, why);
	TEST_TRUE(t, w != NULL);
	fd = open(tpath("lk.db"), O_RDONLY);
	TEST_TRUE(t, fd >= 0);
	TEST_INT(t, flock(fd, LOCK_SH | LOCK_NB), -1);
	if (w) {
		TEST_INT(t, dict_put(w, "a", "1"), 0);
		dict_close(w);
	}
	TEST_INT(t, flock(fd, LOCK_SH | LOCK_NB), 0);
	TEST_INT(t, flock(fd, LOCK_UN), 0);
	/* A reader locks only around each lookup. */
	r = reopen("hash", "lk", DICT_FLAGS_READ, why);
	TEST_TRUE(t, r != NULL);
	if (r) {
		TEST_STR(t, dict_get(r, "a"), "1");
		TEST_INT(t, flock(fd, LOCK_EX | LOCK_NB), 0);
		TEST_INT(t, flock(fd, LOCK_UN), 0);
		TEST_INT(t, fcntl(r->stat_fd, F_GETFD) & FD_CLOEXEC,
		    FD_CLOEXEC);
		dict_close(r);
	}
	close(fd);
	str_free(spec);
	str_free(why);
}

static void
test_changed(struct test *t)
{
	struct str *why = str_new(0);
	struct dict *r, *w;

	w = build("hash", "t3", DICT_FLAGS_BUILD, why);
	if (w == NULL) {
		TEST_FAIL(t, "build: %s", str_ptr(why));
		goto out;
	}
	TEST_INT(t, dict_put(w, "a", "1"), 0);
	dict_close(w);
	r = reopen("hash", "t3", DICT_FLAGS_READ, why);
	TEST_TRUE(t, r != NULL);
	TEST_TRUE(t, !dict_changed(r));
	/* A rename over the file, as an atomic rebuild would do. */
	w = build("hash", "t3new", DICT_FLAGS_BUILD, why);
	TEST_TRUE(t, w != NULL);
	dict_close(w);
	{
		struct str *from = str_new(0);

		str_set(from, tpath("t3new.db"));
		TEST_INT(t, rename(str_ptr(from), tpath("t3.db")), 0);
		str_free(from);
	}
	TEST_TRUE(t, dict_changed(r));
	dict_close(r);
out:
	str_free(why);
}

/* Files that are not databases, or the wrong kind: clean errors. */
static void
test_corrupt(struct test *t)
{
	struct str *why = str_new(0);
	struct str *want = str_new(0);
	char junk[9000];
	struct dict *d;
	FILE *fp;
	size_t n = 0;
	char *good = NULL;

	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (char)((i * 2654435761u) >> 13);
	write_file(tpath("garbage.db"), junk, sizeof(junk));
	write_file(tpath("empty.db"), "", 0);
	write_file(tpath("short.db"), junk, 100);

	/* A real hash file cut short, and read as btree. */
	d = build("hash", "good", DICT_FLAGS_BUILD, why);
	if (d) {
		for (int i = 0; i < 2000; i++) {
			char k[32];

			snprintf(k, sizeof(k), "key%d", i);
			(void)dict_put(d, k, "some value to fill pages");
		}
		dict_close(d);
	}
	if ((fp = fopen(tpath("good.db"), "r")) != NULL) {
		good = malloc(1 << 20);
		n = fread(good, 1, 1 << 20, fp);
		fclose(fp);
	}
	TEST_TRUE(t, n > 8192);
	write_file(tpath("cut.db"), good, n / 2);
	write_file(tpath("cut1.db"), good, 4096);
	write_file(tpath("cut2.db"), good, 1000);
	/* Flip bytes in the middle of the data pages. */
	for (size_t i = 8192; i < n; i += 97)
		good[i] ^= 0x5a;
	write_file(tpath("flip.db"), good, n);
	free(good);

	static const struct {
		const char *type, *name;
		bool may_open;
	} cases[] = {
		{ "hash", "garbage", false },
		{ "btree", "garbage", false },
		{ "hash", "empty", false },
		{ "hash", "short", false },
		{ "btree", "good", false },
		{ "hash", "cut2", false },
		{ "hash", "cut", true },
		{ "hash", "cut1", true },
		{ "hash", "flip", true },
		{ "hash", "missing", false },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		d = reopen(cases[i].type, cases[i].name, DICT_FLAGS_READ, why);
		if (d == NULL) {
			str_fmt(want,
			    "open database %s.db: ", tpath(cases[i].name));
			if (strncmp(str_ptr(why), str_ptr(want),
				str_len(want)) != 0)
				TEST_FAIL(t, "%s: why \"%s\"", cases[i].name,
				    str_ptr(why));
			continue;
		}
		if (!cases[i].may_open)
			TEST_FAIL(t, "%s:%s opened", cases[i].type,
			    cases[i].name);
		/* Whatever it holds, lookups and a scan must not crash. */
		for (int j = 0; j < 2100; j += 7) {
			char k[32];

			snprintf(k, sizeof(k), "key%d", j);
			(void)dict_get(d, k);
		}
		{
			const char *k, *v;
			int f = DICT_SEQ_FIRST, c = 0;

			while (c++ < 5000 && dict_seq(d, f, &k, &v) == 0)
				f = DICT_SEQ_NEXT;
		}
		dict_close(d);
	}
	d = reopen("hash", "missing", DICT_FLAGS_READ, why);
	TEST_TRUE(t, d == NULL);
	str_fmt(want, "open database %s.db: No such file or directory",
	    tpath("missing"));
	TEST_STR(t, str_ptr(why), str_ptr(want));
	d = reopen("hash", "garbage", DICT_FLAGS_READ, why);
	str_fmt(want, "open database %s.db: Invalid argument",
	    tpath("garbage"));
	TEST_STR(t, str_ptr(why), str_ptr(want));
	dict_close(d);
	/* A build replaces a garbage file. */
	d = build("hash", "garbage", DICT_FLAGS_BUILD, why);
	TEST_TRUE(t, d != NULL);
	if (d) {
		TEST_INT(t, dict_put(d, "a", "b"), 0);
		dict_close(d);
	}
	d = reopen("hash", "garbage", DICT_FLAGS_READ, why);
	TEST_TRUE(t, d != NULL);
	if (d) {
		TEST_STR(t, dict_get(d, "a"), "b");
		dict_close(d);
	}
	str_free(want);
	str_free(why);
}

/* Exchange files with Debian's Postfix, when it is installed. */
static const char postmap_path[] = "/usr/sbin/postmap";

static int
run(const char *cmd, struct str *out)
{
	FILE *fp = popen(cmd, "r");
	char buf[512];
	size_t n;

	str_reset(out);
	if (fp == NULL)
		return -1;
	while ((n = fread(buf, 1, sizeof(buf), fp)) > 0)
		str_catn(out, buf, n);
	return pclose(fp);
}

static void
test_postfix_interop(struct test *t)
{
	static const char *const types[] = { "hash", "btree", NULL };
	struct str *why = str_new(0), *cmd = str_new(0), *out = str_new(0);
	struct dict *d;

	if (access(postmap_path, X_OK) != 0) {
		printf("SKIP %s:postfix_interop: %s not installed\n", __FILE__,
		    postmap_path);
		goto out;
	}
	mkdir(tpath("pf"), 0755);
	write_file(tpath("pf/main.cf"), "", 0);
	write_file(tpath("src"), "Alpha one\nbeta two words\n", 25);
	for (int i = 0; types[i]; i++) {
		/* Postfix builds, we read. */
		str_fmt(cmd, "%s -c %s %s:%s 2>&1", postmap_path, tpath("pf"),
		    types[i], tpath("src"));
		TEST_INT(t, run(str_ptr(cmd), out), 0);
		d = reopen(types[i], "src", DICT_FLAGS_READ, why);
		if (d == NULL) {
			TEST_FAIL(t, "open postfix %s: %s", types[i],
			    str_ptr(why));
			continue;
		}
		TEST_STR(t, dict_get(d, "ALPHA"), "one");
		TEST_STR(t, dict_get(d, "beta"), "two words");
		TEST_TRUE(t, (d->flags & DICT_FLAG_TRY0NULL) == 0);
		dict_close(d);

		/* We build, Postfix reads. */
		d = build(types[i], "ours", DICT_FLAGS_BUILD, why);
		if (d == NULL) {
			TEST_FAIL(t, "build: %s", str_ptr(why));
			continue;
		}
		(void)dict_put(d, "Gamma", "three");
		(void)dict_put(d, "delta", "four four");
		dict_close(d);
		str_fmt(cmd, "%s -c %s -q GAMMA %s:%s 2>&1", postmap_path,
		    tpath("pf"), types[i], tpath("ours"));
		TEST_INT(t, run(str_ptr(cmd), out), 0);
		TEST_STR(t, str_ptr(out), "three\n");
		str_fmt(cmd, "%s -c %s -s %s:%s 2>&1 | sort", postmap_path,
		    tpath("pf"), types[i], tpath("ours"));
		TEST_INT(t, run(str_ptr(cmd), out), 0);
		TEST_STR(t, str_ptr(out), "delta\tfour four\ngamma\tthree\n");
	}
out:
	str_free(out);
	str_free(cmd);
	str_free(why);
}

static const struct test_case cases[] = {
	{ "build_read", test_build_read },
	{ "nonul", test_nonul },
	{ "update_delete", test_update_delete },
	{ "create_incremental", test_create_incremental },
	{ "lock", test_lock },
	{ "changed", test_changed },
	{ "corrupt", test_corrupt },
	{ "postfix_interop", test_postfix_interop },
	{ 0 },
};

int
main(void)
{
	int status;

	if (mkdtemp(tmpdir) == NULL)
		return 1;
	status = test_main(__FILE__, cases);
	if (getenv("DICT_TEST_KEEP") == NULL) {
		struct str *cmd = str_new(0);

		str_fmt(cmd, "rm -rf '%s'", tmpdir);
		if (system(str_ptr(cmd)) != 0)
			status = 1;
		str_free(cmd);
	}
	return status;
}
