/*
 * rcpt_log - per-message recipient logs (see rcpt_log.h for the format and
 * why it survives a crash).
 */
#include <sys/file.h>
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/util/alloc.h"
#include "lib/util/msg.h"
#include "lib/util/safe_open.h"
#include "lib/util/str.h"
#include "lib/util/stream.h"
#include "lib/mail/queue.h"
#include "lib/mail/rcpt_log.h"
#include "lib/mail/record.h"

/* One A record "name=value": control characters become spaces, long
 * values are cut at RCPT_LOG_VALUE_MAX. */
static void
rcpt_log_attr(struct str *out, const char *name, const char *value)
{
	struct str *buf = str_new(64);
	size_t n = 0;

	str_set(buf, name);
	str_cat(buf, "=");
	for (const char *p = value ? value : ""; *p != 0; p++) {
		unsigned char c = (unsigned char)*p;

		if (n++ >= RCPT_LOG_VALUE_MAX - strlen(name) - 1)
			break;
		str_catn(buf, (c < 0x20 || c == 0x7f) ? " " : p, 1);
	}
	rec_cat(out, REC_TYPE_ATTR, str_ptr(buf), str_len(buf));
	str_free(buf);
}

static void
rcpt_log_num(struct str *out, const char *name, long value)
{
	struct str *buf = str_new(32);

	str_fmt(buf, "%ld", value);
	rcpt_log_attr(out, name, str_ptr(buf));
	str_free(buf);
}

void
rcpt_log_encode(struct str *out, const struct rcpt_log_entry *ent)
{
	rcpt_log_attr(out, "recipient", ent->address);
	if (ent->orig_address != NULL && *ent->orig_address != 0)
		rcpt_log_attr(out, "orig_recipient", ent->orig_address);
	if (ent->dsn_orcpt != NULL && *ent->dsn_orcpt != 0)
		rcpt_log_attr(out, "dsn_orig_rcpt", ent->dsn_orcpt);
	rcpt_log_num(out, "offset", ent->offset);
	rcpt_log_num(out, "notify_flags", ent->notify_flags);
	rcpt_log_attr(out, "status", ent->status);
	rcpt_log_attr(out, "action", ent->action);
	rcpt_log_attr(out, "reason", ent->reason);
	if (ent->mta != NULL && *ent->mta != 0)
		rcpt_log_attr(out, "mta", ent->mta);
	if (ent->dtype != NULL && *ent->dtype != 0) {
		rcpt_log_attr(out, "diag_type", ent->dtype);
		rcpt_log_attr(out, "diag_text",
		    ent->dtext != NULL ? ent->dtext : "");
	}
	rcpt_log_num(out, "time", ent->time);
	rec_cat(out, REC_TYPE_END, "", 0);
}

/*
 * What root creates in a log queue gets the owner of that queue directory
 * (mail_owner), so that the bounce daemon and the unprivileged agents can
 * read and append to a log that local (root) started.
 */
static void
rcpt_log_give(const char *path, const char *logq, int fd)
{
	struct stat q;

	if (geteuid() != 0 || stat(logq, &q) < 0 || q.st_uid == 0)
		return;
	if ((fd >= 0 ? fchown(fd, q.st_uid, q.st_gid)
		     : lchown(path, q.st_uid, q.st_gid)) < 0)
		msg_warn("chown %s: %m", path);
}

/* Make the hash subdirectories of path (all but its last component). */
static void
rcpt_log_mkdirs(const char *path, const char *logq)
{
	struct str *part = str_new(64);

	for (const char *p = path; (p = strchr(p, '/')) != NULL; p++) {
		str_set(part, "");
		str_catn(part, path, (size_t)(p - path));
		if (mkdir(str_ptr(part), 0700) == 0)
			rcpt_log_give(str_ptr(part), logq, -1);
		else if (errno != EEXIST)
			break;
	}
	str_free(part);
}

/*
 * Offset just past the last complete entry of the open log, for a writer
 * that found a torn tail.  Reads from the start; only runs after a crash.
 */
static off_t
rcpt_log_good_end(int fd)
{
	struct stream *st;
	struct str *buf = str_new(256);
	struct rec_meta meta;
	off_t pos = 0, good = 0;
	int dup_fd, type;

	if ((dup_fd = dup(fd)) < 0 || lseek(dup_fd, 0, SEEK_SET) < 0) {
		if (dup_fd >= 0)
			close(dup_fd);
		str_free(buf);
		return -1;
	}
	st = stream_open(dup_fd);
	for (;;) {
		type = rec_get_meta(st, buf, RCPT_LOG_VALUE_MAX, &meta);
		if (type < 0)
			break;
		pos += (off_t)meta.bytes;
		if (type == REC_TYPE_END)
			good = pos;
	}
	stream_close(st);
	str_free(buf);
	return good;
}

int
rcpt_log_append(const char *logq, const char *id,
    const struct rcpt_log_entry *ent, struct str *why)
{
	struct str *path = str_new(64);
	struct str *data = str_new(256);
	struct str *reason = str_new(64);
	struct stat st;
	unsigned char last;
	off_t good;
	ssize_t n;
	int fd = -1, rc = -1, saved;

	if (!queue_id_ok(id) || !queue_name_ok(logq)) {
		str_fmt(why, "bad log name %s/%s", logq, id);
		errno = EINVAL;
		goto out;
	}
	queue_path(path, logq, id);
	fd = safe_open(str_ptr(path), O_RDWR | O_APPEND | O_CREAT, 0600, &st,
	    (uid_t)-1, (gid_t)-1, reason);
	if (fd < 0 && errno == ENOENT) {
		rcpt_log_mkdirs(str_ptr(path), logq);
		fd = safe_open(str_ptr(path), O_RDWR | O_APPEND | O_CREAT, 0600,
		    &st, (uid_t)-1, (gid_t)-1, reason);
	}
	if (fd >= 0 && st.st_uid == 0)
		rcpt_log_give(str_ptr(path), logq, fd);
	if (fd < 0) {
		saved = errno;
		str_fmt(why, "open %s: %s", str_ptr(path), str_ptr(reason));
		errno = saved;
		goto out;
	}
	if (flock(fd, LOCK_EX) < 0 || fstat(fd, &st) < 0) {
		str_fmt(why, "lock %s: %s", str_ptr(path), strerror(errno));
		goto out;
	}

	/* A log that ends cleanly ends in the 0 length byte of an E record. */
	if (st.st_size > 0) {
		if (pread(fd, &last, 1, st.st_size - 1) != 1) {
			str_fmt(why, "read %s: %s", str_ptr(path),
			    strerror(errno));
			goto out;
		}
		if (last != 0) {
			if ((good = rcpt_log_good_end(fd)) < 0 ||
			    ftruncate(fd, good) < 0) {
				str_fmt(why, "truncate %s: %s", str_ptr(path),
				    strerror(errno));
				goto out;
			}
			msg_warn("%s: removed an incomplete last entry",
			    str_ptr(path));
		}
	}

	rcpt_log_encode(data, ent);
	n = write(fd, str_ptr(data), str_len(data));
	if (n != (ssize_t)str_len(data)) {
		if (n >= 0)
			errno = ENOSPC;
		saved = errno;
		/* Take a partial entry back out, so the tail stays clean. */
		if (n > 0 && ftruncate(fd, st.st_size) < 0)
			msg_warn("truncate %s: %m", str_ptr(path));
		errno = saved;
		str_fmt(why, "write %s: %s", str_ptr(path), strerror(errno));
		goto out;
	}
	if (fsync(fd) < 0) {
		str_fmt(why, "fsync %s: %s", str_ptr(path), strerror(errno));
		goto out;
	}
	rc = 0;
out:
	saved = errno;
	if (fd >= 0)
		close(fd); /* drops the lock */
	str_free(path);
	str_free(data);
	str_free(reason);
	errno = saved;
	return rc;
}

/* Entry being assembled by the reader; the values point into strings that
 * the list owns once the entry is accepted. */
struct rcpt_log_work {
	char *address, *orig, *orcpt, *status, *action, *reason, *mta;
	char *dtype, *dtext;
	long offset, time;
	int notify;
	bool have_offset, have_time;
	size_t attrs;
};

static void
rcpt_log_work_reset(struct rcpt_log_work *w)
{
	free(w->address);
	free(w->orig);
	free(w->orcpt);
	free(w->status);
	free(w->action);
	free(w->reason);
	free(w->mta);
	free(w->dtype);
	free(w->dtext);
	memset(w, 0, sizeof(*w));
}

static bool
rcpt_log_status_ok(const char *s)
{
	/* RFC 3463: class.subject.detail, 1-3 digits after the class. */
	int parts = 0;

	if (s == NULL || (s[0] != '2' && s[0] != '4' && s[0] != '5') ||
	    s[1] != '.')
		return false;
	for (s += 2; parts < 2; parts++) {
		size_t n = strspn(s, "0123456789");

		if (n < 1 || n > 3)
			return false;
		s += n;
		if (parts == 0 && *s++ != '.')
			return false;
	}
	return *s == 0;
}

static bool
rcpt_log_action_ok(const char *s)
{
	static const char *const actions[] = { "delayed", "failed", "delivered",
		"relayed", "expanded", "deliverable", "undeliverable" };

	for (size_t i = 0; s != NULL && i < sizeof(actions) / sizeof(*actions);
	     i++)
		if (strcmp(s, actions[i]) == 0)
			return true;
	return false;
}

static bool
rcpt_log_number(const char *s, long *out)
{
	char *end;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	*out = strtol(s, &end, 10);
	return errno == 0 && *end == 0;
}

/* Take one "name=value" into w: NULL, or why it is malformed. */
static const char *
rcpt_log_take(struct rcpt_log_work *w, const char *rec)
{
	const char *eq = strchr(rec, '=');
	const char *value;
	size_t nlen;
	char **slot = NULL;
	long num;

	if (eq == NULL)
		return "attribute without '='";
	nlen = (size_t)(eq - rec);
	value = eq + 1;
#define NAME_IS(s) (nlen == sizeof(s) - 1 && strncmp(rec, s, nlen) == 0)
	if (NAME_IS("recipient"))
		slot = &w->address;
	else if (NAME_IS("orig_recipient"))
		slot = &w->orig;
	else if (NAME_IS("dsn_orig_rcpt"))
		slot = &w->orcpt;
	else if (NAME_IS("status"))
		slot = &w->status;
	else if (NAME_IS("action"))
		slot = &w->action;
	else if (NAME_IS("reason"))
		slot = &w->reason;
	else if (NAME_IS("mta"))
		slot = &w->mta;
	else if (NAME_IS("diag_type"))
		slot = &w->dtype;
	else if (NAME_IS("diag_text"))
		slot = &w->dtext;
	else if (NAME_IS("offset") || NAME_IS("time") ||
		 NAME_IS("notify_flags")) {
		if (!rcpt_log_number(value, &num))
			return "bad number";
		if (NAME_IS("offset")) {
			w->offset = num;
			w->have_offset = true;
		} else if (NAME_IS("time")) {
			w->time = num;
			w->have_time = true;
		} else {
			if (num > 0xff)
				return "bad notify_flags";
			w->notify = (int)num;
		}
		return NULL;
	}
#undef NAME_IS
	if (slot == NULL)
		return NULL; /* unknown names: a later version's */
	if (*slot != NULL)
		return "duplicate attribute";
	*slot = xstrdup(value);
	return NULL;
}

/* Check a complete entry: NULL, or why it is malformed. */
static const char *
rcpt_log_check(const struct rcpt_log_work *w)
{
	if (w->address == NULL)
		return "no recipient";
	if (!rcpt_log_status_ok(w->status))
		return "missing or bad status";
	if (!rcpt_log_action_ok(w->action))
		return "missing or bad action";
	return NULL;
}

static char *
rcpt_log_own(char **p)
{
	char *s = *p ? *p : xstrdup("");

	*p = NULL;
	return s;
}

static void
rcpt_log_keep(struct rcpt_log_list *list, struct rcpt_log_work *w,
    size_t *alloc)
{
	struct rcpt_log_entry *e;

	if (list->count == *alloc) {
		*alloc = *alloc ? 2 * *alloc : 8;
		list->entries = xreallocarray(list->entries, *alloc,
		    sizeof(*list->entries));
	}
	e = &list->entries[list->count++];
	e->address = rcpt_log_own(&w->address);
	e->orig_address = rcpt_log_own(&w->orig);
	e->dsn_orcpt = rcpt_log_own(&w->orcpt);
	e->status = rcpt_log_own(&w->status);
	e->action = rcpt_log_own(&w->action);
	e->reason = rcpt_log_own(&w->reason);
	e->mta = rcpt_log_own(&w->mta);
	e->dtype = rcpt_log_own(&w->dtype);
	e->dtext = rcpt_log_own(&w->dtext);
	e->offset = w->offset;
	e->time = w->time;
	e->notify_flags = w->notify;
}

struct rcpt_log_list *
rcpt_log_read(const char *logq, const char *id, struct str *why)
{
	struct str *path = str_new(64);
	struct str *buf = str_new(256);
	struct str *reason = str_new(64);
	struct rcpt_log_list *list = NULL;
	struct rcpt_log_work w;
	struct rec_meta meta;
	struct stream *st = NULL;
	struct stat sb;
	const char *bad = NULL;
	size_t alloc = 0;
	long pos = 0, start = 0;
	int fd, type, saved = 0;

	memset(&w, 0, sizeof(w));
	if (!queue_id_ok(id) || !queue_name_ok(logq)) {
		str_fmt(why, "bad log name %s/%s", logq, id);
		saved = EINVAL;
		goto out;
	}
	queue_path(path, logq, id);
	if ((fd = safe_open(str_ptr(path), O_RDONLY, 0, &sb, (uid_t)-1,
		 (gid_t)-1, reason)) < 0) {
		saved = errno;
		str_fmt(why, "open %s: %s", str_ptr(path), str_ptr(reason));
		goto out;
	}
	/* A shared lock: never read an entry that a writer is appending. */
	if (flock(fd, LOCK_SH) < 0)
		msg_warn("lock %s: %m", str_ptr(path));
	st = stream_open(fd);
	list = xcalloc(1, sizeof(*list));

	for (;;) {
		type = rec_get_meta(st, buf, RCPT_LOG_VALUE_MAX, &meta);
		if (type == REC_EOF) {
			if (w.attrs > 0)
				msg_warn("%s: incomplete last entry at offset "
					 "%ld -- ignored",
				    str_ptr(path), start);
			break;
		}
		if (type == REC_TRUNC) {
			msg_warn("%s: incomplete last entry at offset %ld -- "
				 "ignored",
			    str_ptr(path), start);
			break;
		}
		if (type < 0) {
			msg_warn("%s: %s at offset %ld -- rest of file ignored",
			    str_ptr(path),
			    type == REC_TOOLONG   ? "record too long"
			    : type == REC_BADTYPE ? "bad record type"
						  : "read error",
			    pos);
			break;
		}
		pos += (long)meta.bytes;
		if (type == REC_TYPE_END) {
			if (bad == NULL)
				bad = rcpt_log_check(&w);
			if (bad != NULL)
				msg_warn("%s: malformed entry at offset %ld: "
					 "%s -- skipped",
				    str_ptr(path), start, bad);
			else
				rcpt_log_keep(list, &w, &alloc);
			rcpt_log_work_reset(&w);
			bad = NULL;
			start = pos;
			continue;
		}
		w.attrs++;
		if (bad != NULL)
			continue;
		if (type != REC_TYPE_ATTR)
			bad = "unexpected record type";
		else if (memchr(str_ptr(buf), 0, str_len(buf)) != NULL)
			bad = "NUL in attribute";
		else if (w.attrs > RCPT_LOG_ATTR_MAX)
			bad = "too many attributes";
		else
			bad = rcpt_log_take(&w, str_ptr(buf));
	}
out:
	rcpt_log_work_reset(&w);
	stream_close(st);
	str_free(path);
	str_free(buf);
	str_free(reason);
	if (list == NULL)
		errno = saved;
	return list;
}

struct rcpt_log_list *
rcpt_log_list_free(struct rcpt_log_list *list)
{
	if (list == NULL)
		return NULL;
	for (size_t i = 0; i < list->count; i++) {
		struct rcpt_log_entry *e = &list->entries[i];

		free((char *)e->address);
		free((char *)e->orig_address);
		free((char *)e->dsn_orcpt);
		free((char *)e->status);
		free((char *)e->action);
		free((char *)e->reason);
		free((char *)e->mta);
		free((char *)e->dtype);
		free((char *)e->dtext);
	}
	free(list->entries);
	free(list);
	return NULL;
}

int
rcpt_log_remove(const char *logq, const char *id)
{
	struct str *path;
	int rc;

	if (!queue_id_ok(id) || !queue_name_ok(logq)) {
		errno = EINVAL;
		return -1;
	}
	path = str_new(64);
	queue_path(path, logq, id);
	rc = unlink(str_ptr(path));
	str_free(path);
	return rc;
}
