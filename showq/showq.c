/*
 * showq - list the mail queue for postqueue -p/-j (mailq), as Postfix's
 * showq(8).
 * Run by master as mail_owner, one client per process (public/showq);
 * postqueue also runs it directly (-S) when master is down.
 * Reads the queue files in maildrop, incoming, active, deferred and hold
 * (envelope and extracted records only; the content is skipped) and the
 * delay reasons in defer/ (rcpt_log.h).  Never writes to the queue.
 * Talks to postqueue with attr lists, lib/mail/showq_proto.h; it speaks
 * first and reads nothing, so a client cannot make it do anything else.
 * Every record is bounded by SHOWQ_VALUE_MAX before it is read.
 */
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/util/alloc.h"
#include "lib/util/htable.h"
#include "lib/util/msg.h"
#include "lib/util/str.h"
#include "lib/util/stream.h"
#include "lib/mail/attr.h"
#include "lib/mail/daemon.h"
#include "lib/mail/params.h"
#include "lib/mail/queue.h"
#include "lib/mail/rcpt_log.h"
#include "lib/mail/record.h"
#include "lib/mail/showq_proto.h"

/* Postfix's showq order (observed): maildrop first, hold last. */
static const char *const showq_queues[] = { QUEUE_MAILDROP, QUEUE_INCOMING,
	QUEUE_ACTIVE, QUEUE_DEFERRED, QUEUE_HOLD };

struct showq_rcpt {
	char *address;
	char *orig;
};

struct showq_msg {
	long time;
	long size;
	bool have_time, have_size;
	char *sender;
	struct showq_rcpt *rcpts;
	size_t count, alloc;
};

static void
showq_msg_free(struct showq_msg *m)
{
	for (size_t i = 0; i < m->count; i++) {
		free(m->rcpts[i].address);
		free(m->rcpts[i].orig);
	}
	free(m->rcpts);
	free(m->sender);
	memset(m, 0, sizeof(*m));
}

static void
showq_add_rcpt(struct showq_msg *m, const char *addr, const char *orig)
{
	if (m->count == m->alloc) {
		m->alloc = m->alloc ? 2 * m->alloc : 8;
		m->rcpts = xreallocarray(m->rcpts, m->alloc, sizeof(*m->rcpts));
	}
	m->rcpts[m->count].address = xstrdup(addr);
	m->rcpts[m->count].orig = orig ? xstrdup(orig) : NULL;
	m->count++;
}

/*
 * Read the envelope and extracted records of an open queue file.  After
 * the M record the content is skipped with a seek when the size record
 * says where it ends.  Returns 0, or -1 (with a warning) when the file
 * is damaged; what was read before the damage is kept.
 */
static int
showq_read(int fd, const char *path, struct showq_msg *m)
{
	struct stream *st;
	struct str *buf = str_new(256), *orig = NULL;
	struct queue_size sz;
	struct rec_meta meta;
	bool have_sz = false;
	long pos = 0;
	int type, rc = -1, dfd;
	char *end;

	if ((dfd = dup(fd)) < 0) {
		msg_warn("%s: dup: %m", path);
		str_free(buf);
		return -1;
	}
	st = stream_open(dfd);
	for (;;) {
		type = rec_get_meta(st, buf, SHOWQ_VALUE_MAX, &meta);
		if (type < 0) {
			msg_warn("%s: %s at offset %ld", path,
			    type == REC_EOF       ? "no end record"
			    : type == REC_TRUNC   ? "truncated record"
			    : type == REC_TOOLONG ? "record too long"
			    : type == REC_BADTYPE ? "bad record type"
						  : "read error",
			    pos);
			break;
		}
		pos += (long)meta.bytes;
		switch (type) {
		case REC_TYPE_SIZE:
			if (queue_size_parse(str_ptr(buf), &sz) == 0) {
				have_sz = true;
				m->size = sz.content_size;
				m->have_size = true;
			}
			break;
		case REC_TYPE_TIME:
			errno = 0;
			m->time = strtol(str_ptr(buf), &end, 10);
			m->have_time = errno == 0 && end != str_ptr(buf);
			break;
		case REC_TYPE_FROM:
			if (m->sender == NULL)
				m->sender = xstrdup(str_ptr(buf));
			break;
		case REC_TYPE_ORCP:
			if (orig == NULL)
				orig = str_new(64);
			str_set(orig, str_ptr(buf));
			break;
		case REC_TYPE_RCPT:
			showq_add_rcpt(m, str_ptr(buf),
			    orig ? str_ptr(orig) : NULL);
			orig = str_free(orig);
			break;
		case REC_TYPE_DONE:
		case REC_TYPE_DRCP:
			orig = str_free(orig);
			break;
		case REC_TYPE_MESG:
			if (!have_sz || sz.data_offset != pos ||
			    sz.content_size < 0)
				break;
			/* Jump over the content to the X record. */
			stream_close(st);
			if ((dfd = dup(fd)) < 0 ||
			    lseek(dfd, pos + sz.content_size, SEEK_SET) < 0) {
				msg_warn("%s: seek: %m", path);
				if (dfd >= 0)
					close(dfd);
				st = NULL;
				goto out;
			}
			st = stream_open(dfd);
			pos += sz.content_size;
			break;
		case REC_TYPE_END:
			rc = 0;
			goto out;
		default:
			break;
		}
	}
out:
	stream_close(st);
	str_free(orig);
	str_free(buf);
	return rc;
}

/* Delay reasons from defer/ID by recipient address (the last one wins). */
static struct htable *
showq_reasons(const char *id)
{
	struct str *why = str_new(64);
	struct rcpt_log_list *list;
	struct htable *t = htable_new(16);

	if ((list = rcpt_log_read(QUEUE_DEFER, id, why)) == NULL) {
		if (errno != ENOENT)
			msg_warn("%s", str_ptr(why));
	} else {
		for (size_t i = 0; i < list->count; i++)
			free(htable_enter(t, list->entries[i].address,
			    xstrdup(list->entries[i].reason)));
		rcpt_log_list_free(list);
	}
	str_free(why);
	return t;
}

/* Send one queue file; -1 when the client went away. */
static int
showq_report(struct stream *st, const char *queue, const char *id)
{
	struct attr_list *al = attr_new();
	struct str *path = str_new(64);
	struct showq_msg m;
	struct htable *reasons = NULL;
	struct stat sb;
	const char *reason;
	int fd, rc = 0;

	memset(&m, 0, sizeof(m));
	queue_path(path, queue, id);
	fd =
	    open(str_ptr(path), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		if (errno != ENOENT) /* ENOENT: delivered or moved meanwhile */
			msg_warn("open %s: %m", str_ptr(path));
		goto out;
	}
	/* As Postfix: only complete regular files are messages. */
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) || !queue_complete(&sb))
		goto out;
	(void)showq_read(fd, str_ptr(path), &m);
	reasons = showq_reasons(id);

	attr_put(al, "kind", SHOWQ_KIND_MESSAGE);
	attr_put(al, "queue_name", queue);
	attr_put(al, "queue_id", id);
	attr_put_long(al, "time", m.have_time ? m.time : (long)sb.st_mtime);
	attr_put_long(al, "size", m.have_size ? m.size : (long)sb.st_size);
	attr_put_long(al, "forced_expire",
	    (sb.st_mode & QUEUE_MODE_EXPIRE) != 0);
	attr_put(al, "sender", m.sender ? m.sender : "");
	if (attr_write(st, al) < 0)
		goto fail;
	for (size_t i = 0; i < m.count; i++) {
		attr_reset(al);
		attr_put(al, "kind", SHOWQ_KIND_RECIPIENT);
		attr_put(al, "address", m.rcpts[i].address);
		if (m.rcpts[i].orig != NULL)
			attr_put(al, "orig_address", m.rcpts[i].orig);
		reason = htable_find(reasons, m.rcpts[i].address);
		if (reason != NULL)
			attr_put(al, "reason", reason);
		if (attr_write(st, al) < 0)
			goto fail;
	}
	goto out;
fail:
	rc = -1;
out:
	if (fd >= 0)
		close(fd);
	if (reasons != NULL)
		htable_free(reasons, free);
	showq_msg_free(&m);
	str_free(path);
	attr_free(al);
	return rc;
}

static void
showq_service(struct stream *st, const char *service, char **argv)
{
	struct attr_list *al = attr_new();
	struct queue_scan *scan;
	const char *id;

	(void)service;
	(void)argv;
	attr_put(al, "protocol", SHOWQ_PROTOCOL);
	if (attr_write(st, al) < 0)
		goto out;
	for (size_t q = 0; q < sizeof(showq_queues) / sizeof(*showq_queues);
	     q++) {
		if ((scan = queue_scan_open(showq_queues[q])) == NULL) {
			msg_warn("open queue %s: %m", showq_queues[q]);
			continue;
		}
		while ((id = queue_scan_next(scan)) != NULL)
			if (showq_report(st, showq_queues[q], id) < 0) {
				queue_scan_close(scan);
				goto out;
			}
		queue_scan_close(scan);
	}
	attr_reset(al);
	attr_put(al, "kind", SHOWQ_KIND_END);
	(void)attr_write(st, al);
out:
	attr_free(al);
}

int
main(int argc, char **argv)
{
	static const struct daemon_spec spec = {
		.kind = DAEMON_SINGLE,
		.service = showq_service,
	};

	return daemon_main(argc, argv, &spec);
}
