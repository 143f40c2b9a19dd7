/*
 * mail_copy - the message from the queue file, with envelope headers, to
 * a mailbox, file or command (see mail_copy.h).
 */
#include <sys/types.h>
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/util/str.h"
#include "lib/util/stream.h"
#include "lib/mail/addr.h"
#include "lib/mail/mail_copy.h"
#include "lib/mail/record.h"

#define MAIL_FLUSH_AT 8192
#define MAIL_REC_MAX  (1 << 20) /* bytes of one content record */

long
mail_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
mail_writer_init(struct mail_writer *w, int fd)
{
	memset(w, 0, sizeof(*w));
	w->fd = fd;
	w->buf = str_new(MAIL_FLUSH_AT * 2);
}

void
mail_writer_done(struct mail_writer *w)
{
	w->buf = str_free(w->buf);
}

/* Write out the buffer, waiting (up to the deadline) on a pipe. */
static int
mail_flush(struct mail_writer *w)
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
			long wait = w->deadline - mail_now_ms();

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

static void
mail_put(struct mail_writer *w, const char *p, size_t n)
{
	if (w->error)
		return;
	str_catn(w->buf, p, n);
	if (str_len(w->buf) >= MAIL_FLUSH_AT)
		(void)mail_flush(w);
}

/* One header line "NAME: VALUE" (VALUE with its brackets) and line end. */
static void
mail_header(struct mail_writer *w, struct str *buf, const char *name,
    const char *value, const char *eol)
{
	str_fmt(buf, "%s: %s%s", name, value, eol);
	mail_put(w, str_ptr(buf), str_len(buf));
}

int
mail_copy(const struct mail_copy_src *src, struct mail_writer *w, int flags,
    struct str *why)
{
	struct str *buf = str_new(0), *ext = str_new(0);
	struct stream *st = NULL;
	const char *eol = src->eol ? src->eol : "\n";
	const char *sender = src->sender;
	int fd, type = 0, prev = REC_TYPE_NORM, ret = -1;
	bool empty_last = false;

	if (*sender == 0 && src->null_sender != NULL)
		sender = src->null_sender;
	if (flags & MAIL_COPY_FROM) {
		time_t now = time(NULL);
		char date[32];
		struct tm tm;

		localtime_r(&now, &tm);
		strftime(date, sizeof(date), "%a %b %e %H:%M:%S %Y", &tm);
		str_fmt(buf, "From %s  %s%s",
		    *sender ? sender : "MAILER-DAEMON", date, eol);
		mail_put(w, str_ptr(buf), str_len(buf));
	}
	if (flags & MAIL_COPY_RETURN_PATH) {
		str_set(buf, "<");
		addr_externalize(ext, sender);
		str_cat(ext, ">");
		str_cat(buf, str_ptr(ext));
		mail_header(w, ext, "Return-Path", str_ptr(buf), eol);
	}
	if (flags & MAIL_COPY_ORIG_RCPT) {
		addr_externalize(ext, src->orig_rcpt);
		mail_header(w, buf, "X-Original-To", str_ptr(ext), eol);
	}
	if (flags & MAIL_COPY_DELIVERED) {
		addr_externalize(ext, src->delivered);
		mail_header(w, buf, "Delivered-To", str_ptr(ext), eol);
	}

	if ((fd = dup(src->qfd)) < 0 ||
	    lseek(fd, src->data_offset, SEEK_SET) < 0) {
		str_fmt(why, "cannot read queue file: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		goto out;
	}
	st = stream_open(fd);
	while ((type = rec_get(st, buf, MAIL_REC_MAX)) == REC_TYPE_NORM ||
	       type == REC_TYPE_CONT) {
		if (prev == REC_TYPE_NORM) {
			if ((flags & MAIL_COPY_QUOTE) &&
			    strncmp(str_ptr(buf), "From ", 5) == 0)
				mail_put(w, ">", 1);
			if ((flags & MAIL_COPY_DOT) && str_ptr(buf)[0] == '.')
				mail_put(w, ".", 1);
		}
		mail_put(w, str_ptr(buf), str_len(buf));
		if (type == REC_TYPE_NORM)
			mail_put(w, eol, strlen(eol));
		empty_last = type == REC_TYPE_NORM && str_len(buf) == 0;
		prev = type;
	}
	if (type != REC_TYPE_XTRA) {
		str_set(why, "error reading message: queue file format error");
		errno = EIO;
		goto out;
	}
	if ((flags & MAIL_COPY_BLANK) && !empty_last)
		mail_put(w, eol, strlen(eol));
	if (mail_flush(w) < 0) {
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
