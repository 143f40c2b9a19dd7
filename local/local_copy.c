/*
 * local_copy - write the message from the queue file to a mailbox, file
 * or command, with the envelope headers Postfix's mail_copy() adds:
 *   From SENDER  Mon Dec  4 16:59:40 2026      (COPY_FROM)
 *   Return-Path: <SENDER>                       (COPY_RETURN_PATH)
 *   X-Original-To: ORIGINAL                     (COPY_ORIG_RCPT)
 *   Delivered-To: RECIPIENT                     (COPY_DELIVERED)
 * ">From " quoting of lines that start with "From " (COPY_QUOTE) and an
 * empty last line (COPY_BLANK) make the mbox format.
 */
#include <sys/types.h>
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/util/msg.h"
#include "lib/util/str.h"
#include "lib/util/stream.h"
#include "lib/mail/addr.h"
#include "lib/mail/params.h"
#include "lib/mail/record.h"
#include "local.h"

#define LOCAL_FLUSH_AT 8192

void
local_writer_init(struct local_writer *w, int fd)
{
	memset(w, 0, sizeof(*w));
	w->fd = fd;
	w->buf = str_new(LOCAL_FLUSH_AT * 2);
}

void
local_writer_done(struct local_writer *w)
{
	w->buf = str_free(w->buf);
}

/* Write out the buffer, waiting (up to the deadline) on a pipe. */
static int
local_flush(struct local_writer *w)
{
	const char *p = str_ptr(w->buf);
	size_t left = str_len(w->buf);

	if (w->error) {
		errno = w->error;
		return -1;
	}
	if (w->limit > 0 && w->written + (long)left > w->limit) {
		errno = w->error = EFBIG;
		str_reset(w->buf);
		return -1;
	}
	while (left > 0) {
		ssize_t n;

		if (w->deadline > 0) {
			struct pollfd pfd = { .fd = w->fd, .events = POLLOUT };
			long wait = w->deadline - local_now_ms();

			if (wait <= 0 || poll(&pfd, 1, (int)wait) == 0) {
				errno = w->error = ETIMEDOUT;
				return -1;
			}
		}
		n = write(w->fd, p, left);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0) {
			w->error = errno;
			str_reset(w->buf);
			return -1;
		}
		p += n;
		left -= (size_t)n;
		w->written += n;
	}
	str_reset(w->buf);
	return 0;
}

static int
local_put(struct local_writer *w, const char *p, size_t n)
{
	if (w->error)
		return -1;
	str_catn(w->buf, p, n);
	if (str_len(w->buf) >= LOCAL_FLUSH_AT)
		return local_flush(w);
	return 0;
}

int
local_copy(struct local_state *s, struct local_writer *w, int flags,
    struct str *why)
{
	struct str *buf = str_new(0), *ext = str_new(0);
	struct stream *st = NULL;
	int fd, type = 0, prev = REC_TYPE_NORM, ret = -1;
	bool empty_last = false;

	if (flags & COPY_FROM) {
		time_t now = time(NULL);
		char date[32];
		struct tm tm;

		localtime_r(&now, &tm);
		strftime(date, sizeof(date), "%a %b %e %H:%M:%S %Y", &tm);
		str_fmt(buf, "From %s  %s\n",
		    *s->sender ? s->sender : "MAILER-DAEMON", date);
		local_put(w, str_ptr(buf), str_len(buf));
	}
	if (flags & COPY_RETURN_PATH) {
		addr_externalize(ext, s->sender);
		str_fmt(buf, "Return-Path: <%s>\n", str_ptr(ext));
		local_put(w, str_ptr(buf), str_len(buf));
	}
	if (flags & COPY_ORIG_RCPT) {
		const char *orig = str_ptr(s->rcpt->orig_rcpt);

		addr_externalize(ext, *orig ? orig : str_ptr(s->rcpt->address));
		str_fmt(buf, "X-Original-To: %s\n", str_ptr(ext));
		local_put(w, str_ptr(buf), str_len(buf));
	}
	if (flags & COPY_DELIVERED) {
		addr_externalize(ext, s->delivered);
		str_lower(ext);
		str_fmt(buf, "Delivered-To: %s\n", str_ptr(ext));
		local_put(w, str_ptr(buf), str_len(buf));
	}

	if ((fd = dup(s->qfd)) < 0 ||
	    lseek(fd, s->req->data_offset, SEEK_SET) < 0) {
		str_fmt(why, "cannot read queue file: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		goto out;
	}
	st = stream_open(fd);
	while ((type = rec_get(st, buf, 1 << 20)) == REC_TYPE_NORM ||
	       type == REC_TYPE_CONT) {
		if ((flags & COPY_QUOTE) && prev == REC_TYPE_NORM &&
		    strncmp(str_ptr(buf), "From ", 5) == 0)
			local_put(w, ">", 1);
		local_put(w, str_ptr(buf), str_len(buf));
		if (type == REC_TYPE_NORM)
			local_put(w, "\n", 1);
		empty_last = type == REC_TYPE_NORM && str_len(buf) == 0;
		prev = type;
	}
	if (type != REC_TYPE_XTRA) {
		str_set(why, "error reading message: queue file format error");
		errno = EIO;
		goto out;
	}
	if ((flags & COPY_BLANK) && !empty_last)
		local_put(w, "\n", 1);
	if (local_flush(w) < 0) {
		if (errno == EPIPE && w->pipe) {
			ret = 0;
			goto out;
		}
		str_fmt(why, "error writing message: %s", strerror(errno));
		goto out;
	}
	ret = 0;
out:
	if (ret < 0) {
		int saved = errno;

		str_reset(w->buf);
		errno = saved;
	}
	stream_close(st);
	str_free(buf);
	str_free(ext);
	return ret;
}
