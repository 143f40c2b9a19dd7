/*
 * queue - queue directories, queue IDs and crash-safe queue files (the
 * crash-safety argument is in queue.h).
 *
 * IDs: Postfix's short and long shapes (postfix-notes 2.3).  Hashing: a
 * hashed queue keeps a file in hash_queue_depth levels of one-character
 * subdirectories taken from the microseconds of its ID written in
 * upper-case hex (the first characters of a short ID; a long ID's base-52
 * microseconds converted first), as Postfix does, so that the paths match
 * Postfix's (deferred/5/546C7A7258F, deferred/8/4jXCrT3sgnz1bcJr).
 */
#include <sys/stat.h>
#include <sys/time.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/util/alloc.h"
#include "lib/util/msg.h"
#include "lib/util/str.h"
#include "lib/mail/params.h"
#include "lib/mail/queue.h"

#define QUEUE_HASH_MAX     16    /* deeper hash_queue_depth is clamped */
#define QUEUE_CREATE_TRIES 10000 /* renames before queue_create gives up */

/* Digits and letters without vowels (52); base 51 drops the final 'z'. */
#define QUEUE_B52 "0123456789BCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz"
_Static_assert(sizeof(QUEUE_B52) == 52 + 1, "the base-52 alphabet");
static const char queue_b52[] = QUEUE_B52;

static const char *const queue_names[] = { QUEUE_MAILDROP, QUEUE_INCOMING,
	QUEUE_ACTIVE, QUEUE_DEFERRED, QUEUE_HOLD, QUEUE_CORRUPT, QUEUE_BOUNCE,
	QUEUE_DEFER, QUEUE_TRACE, QUEUE_FLUSH, QUEUE_SAVED };

bool
queue_name_ok(const char *name)
{
	for (size_t i = 0; i < sizeof(queue_names) / sizeof(queue_names[0]);
	     i++)
		if (strcmp(name, queue_names[i]) == 0)
			return true;
	return false;
}

static bool
queue_is_hex(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
}

static int
queue_b52_value(int c)
{
	const char *p = c != '\0' ? strchr(queue_b52, c) : NULL;

	return p != NULL ? (int)(p - queue_b52) : -1;
}

/* The long form: seconds (6+), microseconds (4), 'z', inode (1+, no z). */
static bool
queue_id_long(const char *id, size_t len)
{
	const char *sep = strrchr(id, 'z');
	size_t pos;

	if (sep == NULL || sep[1] == '\0' || (pos = (size_t)(sep - id)) < 10)
		return false;
	for (size_t i = 0; i < len; i++)
		if (i != pos && queue_b52_value(id[i]) < 0)
			return false;
	return true;
}

bool
queue_id_ok(const char *id)
{
	size_t len = strlen(id), i;

	if (len == 0 || len > QUEUE_ID_MAX)
		return false;
	for (i = 0; i < len && queue_is_hex(id[i]); i++)
		;
	if (i == len)
		return len >= 6; /* five digits of microseconds, an inode */
	return queue_id_long(id, len);
}

/* The hex microseconds that hashing takes characters from. */
static void
queue_hash_chars(const char *id, char hex[6])
{
	const char *sep;
	long usec = 0;

	if (queue_id_long(id, strlen(id))) {
		sep = strrchr(id, 'z');
		for (const char *p = sep - 4; p < sep; p++)
			usec = usec * 52 + queue_b52_value(*p);
		snprintf(hex, 6, "%05lX", usec & 0xfffff);
	} else {
		memcpy(hex, id, 5);
		hex[5] = '\0';
	}
}

static bool
queue_hashed(const char *queue)
{
	const char *p = var_hash_queue_names ? var_hash_queue_names : "";
	size_t qlen = strlen(queue), n;

	while (*p) {
		p += strspn(p, ", \t\r\n");
		n = strcspn(p, ", \t\r\n");
		if (n == qlen && n > 0 && strncmp(p, queue, n) == 0)
			return true;
		p += n;
	}
	return false;
}

static int
queue_depth(const char *queue)
{
	if (!queue_hashed(queue) || var_hash_queue_depth <= 0)
		return 0;
	return var_hash_queue_depth > QUEUE_HASH_MAX ? QUEUE_HASH_MAX
						     : var_hash_queue_depth;
}

/* "queue" plus the hash subdirectories of id ("deferred/5"). */
static void
queue_dir(struct str *out, const char *queue, const char *id)
{
	char hex[6];
	int depth = queue_depth(queue);

	if (!queue_name_ok(queue) || !queue_id_ok(id))
		msg_panic("queue_dir: bad queue name or ID: %s/%s", queue, id);
	str_set(out, queue);
	if (depth == 0)
		return;
	queue_hash_chars(id, hex);
	for (int i = 0; i < depth; i++) {
		str_catc(out, '/');
		/* Postfix pads a hash shorter than the depth with '_'. */
		str_catc(out, i < 5 ? hex[i] : '_');
	}
}

void
queue_path(struct str *out, const char *queue, const char *id)
{
	queue_dir(out, queue, id);
	str_catc(out, '/');
	str_cat(out, id);
}

/* fsync a directory; 0 or -1 with errno. */
static int
queue_sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc, saved;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

/* Make the hash subdirectories of dir ("deferred/5/A") that are missing. */
static int
queue_mkdirs(const char *queue, const char *dir)
{
	struct str *part = str_new(50);
	const char *p = dir + strlen(queue);
	int rc = 0;

	str_set(part, queue);
	while (*p == '/') {
		size_t n = strcspn(p + 1, "/");

		str_catn(part, p, n + 1);
		p += n + 1;
		if (mkdir(str_ptr(part), 0700) < 0 && errno != EEXIST) {
			rc = -1;
			break;
		}
	}
	str_free(part);
	return rc;
}

/* rename that refuses to replace an existing name. */
static int
queue_rename_new(const char *from, const char *to)
{
	if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	/* A file system without RENAME_NOREPLACE: link refuses too. */
	if (link(from, to) < 0)
		return -1;
	return unlink(from);
}

static void
queue_fmt_base(struct str *out, unsigned long v, unsigned base, int width)
{
	char digits[64];
	int n = 0;

	do {
		digits[n++] = queue_b52[v % base];
		v /= base;
	} while (v != 0 && n < (int)sizeof(digits));
	while (n < width && n < (int)sizeof(digits))
		digits[n++] = '0';
	while (n > 0)
		str_catc(out, digits[--n]);
}

static void
queue_make_id(struct str *id, const struct timeval *tv, ino_t ino)
{
	str_reset(id);
	if (var_enable_long_queue_ids) {
		queue_fmt_base(id, (unsigned long)tv->tv_sec, 52, 6);
		queue_fmt_base(id, (unsigned long)tv->tv_usec, 52, 4);
		str_catc(id, 'z');
		queue_fmt_base(id, (unsigned long)ino, 51, 1);
	} else {
		str_fmt(id, "%05lX%lX", (unsigned long)tv->tv_usec,
		    (unsigned long)ino);
	}
}

int
queue_create(const char *queue, struct str *id, struct str *why)
{
	struct str *tmp = str_new(50), *dir = str_new(50), *path = str_new(50);
	struct timeval tv;
	struct stat st;
	int fd = -1, tries;

	if (!queue_name_ok(queue))
		msg_panic("queue_create: bad queue name: %s", queue);

	/* A temporary name that is never a queue ID (it has a dot). */
	for (tries = 0;; tries++) {
		gettimeofday(&tv, NULL);
		str_fmt(tmp, "%s/%ld.%ld", queue, (long)tv.tv_usec,
		    (long)getpid());
		fd = open(str_ptr(tmp),
		    O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd >= 0)
			break;
		if (errno != EEXIST || tries >= QUEUE_CREATE_TRIES) {
			str_fmt(why, "create file %s: %m", str_ptr(tmp));
			goto out;
		}
	}
	if (fstat(fd, &st) < 0) {
		str_fmt(why, "fstat %s: %m", str_ptr(tmp));
		goto fail;
	}

	/* Rename to the ID; the inode makes it unique, time makes it new. */
	for (tries = 0;; tries++) {
		gettimeofday(&tv, NULL);
		queue_make_id(id, &tv, st.st_ino);
		queue_dir(dir, queue, str_ptr(id));
		queue_path(path, queue, str_ptr(id));
		if (queue_rename_new(str_ptr(tmp), str_ptr(path)) == 0)
			break;
		if (errno == ENOENT && strcmp(str_ptr(dir), queue) != 0 &&
		    queue_mkdirs(queue, str_ptr(dir)) == 0)
			continue;
		if (errno != EEXIST || tries >= QUEUE_CREATE_TRIES) {
			str_fmt(why, "rename file %s as %s: %m", str_ptr(tmp),
			    str_ptr(path));
			goto fail;
		}
	}
	goto out;
fail:
	(void)unlink(str_ptr(tmp));
	close(fd);
	fd = -1;
out:
	str_free(tmp);
	str_free(dir);
	str_free(path);
	return fd;
}

int
queue_finish(int fd, const char *queue, const char *id, mode_t mode,
    struct str *why)
{
	struct str *dir = str_new(50);
	int rc = -1;

	queue_dir(dir, queue, id);
	/*
	 * Mark, then one fsync for data and mark together, as Postfix: the
	 * caller answers only after it, and a file whose mark reached the
	 * disk before all of its data (not on ext4 in its default ordered
	 * mode, which writes data before the metadata that refers to it) was
	 * never acknowledged and fails the readers' checks (no E record).  A
	 * second fsync only for the mark cost a journal commit per message,
	 * which the mailbox fsyncs of local then queued behind.
	 */
	if (fchmod(fd, mode) < 0) {
		str_fmt(why, "change queue file %s/%s mode: %m", queue, id);
		goto out;
	}
	if (fsync(fd) < 0) {
		str_fmt(why, "fsync queue file %s/%s: %m", queue, id);
		goto out;
	}
	if (queue_sync_dir(str_ptr(dir)) < 0 ||
	    (strcmp(str_ptr(dir), queue) != 0 && queue_sync_dir(queue) < 0)) {
		str_fmt(why, "fsync queue directory %s: %m", str_ptr(dir));
		goto out;
	}
	rc = 0;
out:
	str_free(dir);
	return rc;
}

int
queue_move_rename(const char *from, const char *id, const char *to,
    struct str *why)
{
	struct str *src = str_new(50), *dst = str_new(50);
	struct str *dst_dir = str_new(50);
	int rc = 0, saved;

	queue_path(src, from, id);
	queue_path(dst, to, id);
	queue_dir(dst_dir, to, id);
	if (queue_rename_new(str_ptr(src), str_ptr(dst)) < 0) {
		if (errno != ENOENT || strcmp(str_ptr(dst_dir), to) == 0 ||
		    access(str_ptr(src), F_OK) < 0 ||
		    queue_mkdirs(to, str_ptr(dst_dir)) < 0 ||
		    queue_rename_new(str_ptr(src), str_ptr(dst)) < 0) {
			saved = errno;
			str_fmt(why, "rename %s to %s: %m", str_ptr(src),
			    str_ptr(dst));
			errno = saved;
			rc = -1;
		}
	}
	str_free(src);
	str_free(dst);
	str_free(dst_dir);
	return rc;
}

int
queue_move_sync(const char *from, const char *id, const char *to,
    struct str *why)
{
	struct str *src_dir = str_new(50), *dst_dir = str_new(50);
	int rc = 0, saved;

	queue_dir(src_dir, from, id);
	queue_dir(dst_dir, to, id);
	/* New name first: a crash then leaves the file in one of them. */
	if (queue_sync_dir(str_ptr(dst_dir)) < 0 ||
	    (strcmp(str_ptr(dst_dir), to) != 0 && queue_sync_dir(to) < 0) ||
	    queue_sync_dir(str_ptr(src_dir)) < 0) {
		saved = errno;
		str_fmt(why, "fsync queue directory after renaming %s/%s: %m",
		    str_ptr(dst_dir), id);
		errno = saved;
		rc = -1;
	}
	str_free(src_dir);
	str_free(dst_dir);
	return rc;
}

int
queue_move(const char *from, const char *id, const char *to, struct str *why)
{
	if (queue_move_rename(from, id, to, why) < 0 ||
	    queue_move_sync(from, id, to, why) < 0)
		return -1;
	return 0;
}

int
queue_remove(const char *queue, const char *id)
{
	struct str *path = str_new(50);
	int rc, saved;

	queue_path(path, queue, id);
	rc = unlink(str_ptr(path));
	saved = errno;
	str_free(path);
	errno = saved;
	return rc;
}

void
queue_corrupt(const char *queue, const char *id, const char *reason)
{
	struct str *why = str_new(50);

	if (queue_move(queue, id, QUEUE_CORRUPT, why) == 0)
		msg_warn("%s/%s: %s -- moved to %s/", queue, id, reason,
		    QUEUE_CORRUPT);
	else
		msg_warn("%s/%s: %s -- not moved to %s/: %s", queue, id, reason,
		    QUEUE_CORRUPT, str_ptr(why));
	str_free(why);
}

bool
queue_complete(const struct stat *st)
{
	return S_ISREG(st->st_mode) && (st->st_mode & S_IXUSR) != 0;
}

struct queue_scan {
	char *queue;
	int depth; /* hash levels below the queue */
	int level; /* index of the innermost open directory */
	DIR *dirs[QUEUE_HASH_MAX + 1];
	struct str *path[QUEUE_HASH_MAX + 1];
	struct str *id;
};

struct queue_scan *
queue_scan_open(const char *queue)
{
	struct queue_scan *scan;
	DIR *dir;

	if ((dir = opendir(queue)) == NULL)
		return NULL;
	scan = xcalloc(1, sizeof(*scan));
	scan->queue = xstrdup(queue);
	scan->depth = queue_depth(queue);
	scan->dirs[0] = dir;
	scan->path[0] = str_new(50);
	str_set(scan->path[0], queue);
	scan->id = str_new(QUEUE_ID_MAX + 1);
	return scan;
}

/* A one-character hash subdirectory name. */
static bool
queue_hash_name(const char *name)
{
	return name[0] != '\0' && name[1] == '\0' &&
	       (queue_is_hex(name[0]) || name[0] == '_');
}

const char *
queue_scan_next(struct queue_scan *scan)
{
	struct dirent *de;
	DIR *sub;
	int lv, fd;

	while (scan->level >= 0) {
		lv = scan->level;
		if ((de = readdir(scan->dirs[lv])) == NULL) {
			closedir(scan->dirs[lv]);
			scan->dirs[lv] = NULL;
			scan->level--;
			continue;
		}
		if (lv < scan->depth) {
			if (!queue_hash_name(de->d_name))
				continue;
			if (scan->path[lv + 1] == NULL)
				scan->path[lv + 1] = str_new(50);
			str_fmt(scan->path[lv + 1], "%s/%s",
			    str_ptr(scan->path[lv]), de->d_name);
			/* O_NOFOLLOW: a symlink is never a hash directory. */
			fd = open(str_ptr(scan->path[lv + 1]),
			    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			if (fd < 0)
				continue;
			if ((sub = fdopendir(fd)) == NULL) {
				close(fd);
				continue;
			}
			scan->dirs[++scan->level] = sub;
			continue;
		}
		if (queue_id_ok(de->d_name)) {
			str_set(scan->id, de->d_name);
			return str_ptr(scan->id);
		}
	}
	return NULL;
}

struct queue_scan *
queue_scan_close(struct queue_scan *scan)
{
	if (scan == NULL)
		return NULL;
	for (int i = 0; i <= QUEUE_HASH_MAX; i++) {
		if (scan->dirs[i] != NULL)
			closedir(scan->dirs[i]);
		str_free(scan->path[i]);
	}
	str_free(scan->id);
	free(scan->queue);
	free(scan);
	return NULL;
}

void
queue_size_fmt(struct str *out, const struct queue_size *sz)
{
	str_fmt(out, "%*ld %*ld %*ld %*ld %*ld %*ld", QUEUE_SIZE_WIDTH,
	    sz->content_size, QUEUE_SIZE_WIDTH, sz->data_offset,
	    QUEUE_SIZE_WIDTH, sz->rcpt_count, QUEUE_SIZE_WIDTH, sz->qmgr_flags,
	    QUEUE_SIZE_WIDTH, sz->content_length, QUEUE_SIZE_WIDTH,
	    sz->smtputf8);
}

int
queue_size_parse(const char *data, struct queue_size *sz)
{
	long *fields[] = { &sz->content_size, &sz->data_offset, &sz->rcpt_count,
		&sz->qmgr_flags, &sz->content_length, &sz->smtputf8 };
	long vals[6];
	const char *p = data;

	for (int i = 0; i < 6; i++) {
		long v = 0;

		if (i > 0 && *p++ != ' ')
			return -1;
		while (*p == ' ')
			p++;
		if (*p < '0' || *p > '9')
			return -1;
		for (; *p >= '0' && *p <= '9'; p++) {
			if (v > (LONG_MAX - (*p - '0')) / 10)
				return -1;
			v = v * 10 + (*p - '0');
		}
		vals[i] = v;
	}
	if (*p != '\0')
		return -1;
	for (int i = 0; i < 6; i++)
		*fields[i] = vals[i];
	return 0;
}
