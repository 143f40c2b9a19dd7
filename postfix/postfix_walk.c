/*
 * postfix_walk - visit a directory tree the way find(1) does for
 * postfix-script: the starting point first, then each entry in readdir
 * order before its own contents, named "START/entry/sub" from the start
 * as given ("/etc/postfix/." gives "/etc/postfix/./main.cf").  Warnings
 * therefore come out in the order and with the names Postfix's find
 * commands print.
 *
 * postfix_walk(start, follow, fn, ctx)  call fn(path, st, ctx) for every
 *                  name; follow: stat() through symbolic links and descend
 *                  into linked directories (find -L, with loops skipped),
 *                  else lstat() (find -P).  A start that does not exist
 *                  and unreadable directories are skipped silently, as
 *                  postfix-script throws find's complaints away.
 */
#include <sys/types.h>
#include <sys/stat.h>
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "lib/util/str.h"
#include "postfix/postfix.h"

/* The directories above the current one, for loop detection with follow. */
struct postfix_walk_up {
	dev_t dev;
	ino_t ino;
	const struct postfix_walk_up *up;
};

/* find -L looks at a dangling link itself, and skips a link loop. */
static int
postfix_walk_stat(const char *path, bool follow, struct stat *st)
{
	if (!follow)
		return lstat(path, st);
	if (stat(path, st) == 0)
		return 0;
	return errno == ENOENT ? lstat(path, st) : -1;
}

/* A directory reached again through a link: find -L reports and skips it. */
static bool
postfix_walk_loop(const struct stat *st, const struct postfix_walk_up *up)
{
	if (!S_ISDIR(st->st_mode))
		return false;
	for (; up; up = up->up)
		if (up->dev == st->st_dev && up->ino == st->st_ino)
			return true;
	return false;
}

static void
postfix_walk_dir(struct str *path, const struct stat *st, bool follow,
    postfix_walk_fn *fn, void *ctx, const struct postfix_walk_up *up)
{
	struct postfix_walk_up here = { st->st_dev, st->st_ino, up };
	struct stat sub;
	struct dirent *d;
	size_t len = str_len(path);
	DIR *dir;

	if ((dir = opendir(str_ptr(path))) == NULL)
		return;
	while ((d = readdir(dir)) != NULL) {
		if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
			continue;
		str_truncate(path, len);
		str_catc(path, '/');
		str_cat(path, d->d_name);
		if (postfix_walk_stat(str_ptr(path), follow, &sub) < 0 ||
		    postfix_walk_loop(&sub, &here))
			continue;
		fn(str_ptr(path), &sub, ctx);
		if (S_ISDIR(sub.st_mode))
			postfix_walk_dir(path, &sub, follow, fn, ctx, &here);
	}
	closedir(dir);
	str_truncate(path, len);
}

void
postfix_walk(const char *start, bool follow, postfix_walk_fn *fn, void *ctx)
{
	struct str *path;
	struct stat st;

	if (postfix_walk_stat(start, follow, &st) < 0)
		return;
	path = str_new(200);
	str_set(path, start);
	fn(str_ptr(path), &st, ctx);
	if (S_ISDIR(st.st_mode))
		postfix_walk_dir(path, &st, follow, fn, ctx, NULL);
	str_free(path);
}
