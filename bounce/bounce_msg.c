/*
 * bounce_msg - read the original message of a notice from its queue file:
 * the envelope (arrival time, sender, ENVID, RET, where the content starts)
 * and, while a notice is written, its content records.
 *
 * The file is opened without following symlinks and must be a regular
 * file; every record length is bounded by BOUNCE_RECORD_MAX, so a damaged
 * file gives an error naming it, never a runaway read.
 */
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/util/alloc.h"
#include "lib/util/msg.h"
#include "lib/util/str.h"
#include "lib/util/stream.h"
#include "lib/mail/params.h"
#include "lib/mail/queue.h"
#include "lib/mail/record.h"
#include "bounce/bounce.h"

/* Longest record read from a queue file (envelope values, content pieces). */
#define BOUNCE_RECORD_MAX (1024 * 1024)

/* Open the queue file read-only, refusing symlinks and non-files. */
static struct stream *
bounce_msg_stream(const char *path, off_t offset, struct str *why)
{
	struct stat st;
	int fd;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		str_fmt(why, "open %s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		str_fmt(why, "open %s: not a regular file", path);
		close(fd);
		errno = EINVAL;
		return NULL;
	}
	if (offset > 0 && lseek(fd, offset, SEEK_SET) != offset) {
		str_fmt(why, "seek %s: %s", path, strerror(errno));
		close(fd);
		return NULL;
	}
	return stream_open(fd);
}

/* A decimal number that fills the whole string. */
static int
bounce_parse_long(const char *s, long *out)
{
	char *end;

	errno = 0;
	*out = strtol(s, &end, 10);
	if (end == s || *end != 0 || errno != 0 || *out < 0)
		return -1;
	return 0;
}

int
bounce_msg_open(const char *queue, const char *id, struct bounce_msg *msg,
    struct str *why)
{
	struct str *path = str_new(64), *buf = str_new(256);
	struct queue_size sz;
	struct stream *st = NULL;
	bool have_size = false, have_sender = false;
	int type, ret = -1;
	long n;

	memset(msg, 0, sizeof(*msg));
	if (!queue_name_ok(queue) || !queue_id_ok(id)) {
		str_fmt(why, "bad queue name or ID: %s/%s", queue, id);
		errno = EINVAL;
		goto out;
	}
	queue_path(path, queue, id);
	msg->queue = xstrdup(queue);
	msg->id = xstrdup(id);
	msg->path = xstrdup(str_ptr(path));
	msg->envid = xstrdup("");
	if ((st = bounce_msg_stream(msg->path, 0, why)) == NULL)
		goto out;
	for (;;) {
		type = rec_get(st, buf, BOUNCE_RECORD_MAX);
		if (type < 0) {
			str_fmt(why, "%s: %s before the message content",
			    msg->path,
			    type == REC_EOF ? "end of file"
					    : "malformed record");
			errno = EINVAL;
			goto out;
		}
		if (type == REC_TYPE_MESG)
			break;
		switch (type) {
		case REC_TYPE_SIZE:
			if (queue_size_parse(str_ptr(buf), &sz) < 0)
				break;
			msg->data_offset = sz.data_offset;
			msg->content_size = sz.content_size;
			have_size = true;
			break;
		case REC_TYPE_TIME:
			msg->arrival.tv_sec = strtol(str_ptr(buf), NULL, 10);
			break;
		case REC_TYPE_FROM:
			if (!have_sender) {
				msg->sender = xstrdup(str_ptr(buf));
				have_sender = true;
			}
			break;
		case REC_TYPE_DSN_ENVID:
			free(msg->envid);
			msg->envid = xstrdup(str_ptr(buf));
			break;
		case REC_TYPE_DSN_RET:
			if (bounce_parse_long(str_ptr(buf), &n) == 0)
				msg->ret = (int)n;
			break;
		default:
			break;
		}
	}
	if (!have_size || !have_sender || msg->data_offset <= 0) {
		str_fmt(why, "%s: no %s record", msg->path,
		    have_size ? "sender" : "size");
		errno = EINVAL;
		goto out;
	}
	ret = 0;
out:
	stream_close(st);
	str_free(path);
	str_free(buf);
	if (ret < 0) {
		int saved = errno;

		bounce_msg_close(msg);
		errno = saved;
	}
	return ret;
}

void
bounce_msg_close(struct bounce_msg *msg)
{
	free(msg->queue);
	free(msg->id);
	free(msg->path);
	free(msg->sender);
	free(msg->envid);
	memset(msg, 0, sizeof(*msg));
}

/*
 * Copy the content records up to the X record.  With headers_only, stop at
 * the empty line that ends the primary headers (a whole N record of length
 * 0 at the start of a line).
 */
int
bounce_msg_copy(const struct bounce_msg *msg, struct stream *out,
    bool headers_only, struct str *why)
{
	struct str *buf = str_new(256);
	struct stream *st;
	bool line_start = true;
	int type, ret = -1;

	if ((st = bounce_msg_stream(msg->path, msg->data_offset, why)) == NULL)
		goto out;
	for (;;) {
		type = rec_get(st, buf, BOUNCE_RECORD_MAX);
		if (type == REC_TYPE_XTRA || type == REC_TYPE_END)
			break;
		if (type != REC_TYPE_NORM && type != REC_TYPE_CONT) {
			str_fmt(why, "%s: %s in the message content", msg->path,
			    type < 0 ? "malformed record or early end"
				     : "unexpected record type");
			goto out;
		}
		if (headers_only && line_start && type == REC_TYPE_NORM &&
		    str_len(buf) == 0)
			break;
		if (rec_put(out, type, str_ptr(buf), str_len(buf)) < 0) {
			str_fmt(why, "write to cleanup: %s", strerror(errno));
			goto out;
		}
		line_start = type == REC_TYPE_NORM;
	}
	ret = 0;
out:
	stream_close(st);
	str_free(buf);
	return ret;
}
