/*
 * stream - buffered descriptor I/O with per-wait timeouts, a per-request
 * deadline and bounded lines.  See stream.h for the contract.
 *
 * Every wait goes through stream_wait(), which polls this one descriptor
 * for at most the smaller of the timeout and what is left of the deadline,
 * so a blocking descriptor never blocks longer than that in read or write.
 * Input is read only into the free part of the buffer; a line longer than
 * the caller's limit is discarded chunk by chunk and never grows memory.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/util/alloc.h"
#include "lib/util/msg.h"
#include "lib/util/str.h"
#include "lib/util/stream.h"

#define STREAM_BUFSIZE 8192

struct stream {
	int fd;
	int timeout;        /* ms per wait, 0 = none */
	long long deadline; /* CLOCK_MONOTONIC ns, 0 = none */
	int status;         /* STREAM_* of the last failure */
	int werr;           /* sticky write failure, STREAM_* */
	bool eof;           /* read returned 0 */
	bool is_sock;       /* write with send(MSG_NOSIGNAL) */
	size_t rpos, rlen;  /* unread input is rbuf[rpos..rlen) */
	size_t wlen;        /* pending output is wbuf[0..wlen) */
	struct str *fmt;    /* scratch for stream_printf */
	char rbuf[STREAM_BUFSIZE];
	char wbuf[STREAM_BUFSIZE];

	/* The I/O hook (TLS); NULL: read() and write() the descriptor. */
	const struct stream_io *io;
	void *io_ctx;
};

static long long
stream_now(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		msg_fatal("clock_gettime: %m");
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

struct stream *
stream_open(int fd)
{
	struct stream *st = xcalloc(1, sizeof(*st));
	struct stat sb;

	if (fd < 0)
		msg_panic("stream_open: bad descriptor %d", fd);
	st->fd = fd;
	st->is_sock = fstat(fd, &sb) == 0 && S_ISSOCK(sb.st_mode);
	return st;
}

struct stream *
stream_close(struct stream *st)
{
	if (st == NULL)
		return NULL;
	(void)stream_flush(st);
	(void)close(st->fd);
	str_free(st->fmt);
	free(st);
	return NULL;
}

int
stream_fd(struct stream *st)
{
	return st->fd;
}

void
stream_set_timeout(struct stream *st, int ms)
{
	st->timeout = ms > 0 ? ms : 0;
}

void
stream_set_deadline(struct stream *st, int ms)
{
	st->deadline = ms > 0 ? stream_now() + (long long)ms * 1000000LL : 0;
}

int
stream_status(struct stream *st)
{
	return st->status;
}

size_t
stream_pending(struct stream *st)
{
	return st->rlen - st->rpos;
}

void
stream_purge(struct stream *st)
{
	st->rpos = st->rlen = 0;
}

void
stream_set_io(struct stream *st, const struct stream_io *io, void *ctx)
{
	st->io = io;
	st->io_ctx = io ? ctx : NULL;
}

/*
 * Wait until the descriptor is ready for events (POLLIN or POLLOUT), for at
 * most the timeout and what is left of the deadline.  EINTR restarts the
 * wait with what is left of it.
 */
static int
stream_wait(struct stream *st, short events)
{
	long long wait_end = 0, end, left, now;
	struct pollfd pfd;
	int ms, n;

	if (st->timeout > 0)
		wait_end = stream_now() + (long long)st->timeout * 1000000LL;
	for (;;) {
		end = wait_end;
		if (st->deadline && (end == 0 || st->deadline < end))
			end = st->deadline;
		ms = -1;
		if (end) {
			now = stream_now();
			if ((left = end - now) <= 0) {
				errno = ETIMEDOUT;
				return STREAM_TIMEOUT;
			}
			/* Round up so a wait never ends just short of end. */
			left = (left + 999999) / 1000000;
			ms = left > 86400000 ? 86400000 : (int)left;
		}
		pfd.fd = st->fd;
		pfd.events = events;
		pfd.revents = 0;
		n = poll(&pfd, 1, ms);
		if (n > 0) {
			if (pfd.revents & POLLNVAL) {
				errno = EBADF;
				return STREAM_ERROR;
			}
			/* Data, EOF, POLLHUP or POLLERR: the I/O call tells. */
			return STREAM_OK;
		}
		if (n < 0 && errno != EINTR)
			return STREAM_ERROR;
		/* Timed out or interrupted: the top of the loop decides. */
	}
}

int
stream_await(struct stream *st, short events)
{
	int r;

	if ((r = stream_wait(st, events)) != STREAM_OK)
		st->status = r;
	return r;
}

/* Write out wbuf, all of it, or fail and drop it (sticky). */
static int
stream_drain(struct stream *st)
{
	size_t done = 0;
	ssize_t n;
	int r;

	if (st->werr)
		return st->status = st->werr;
	while (done < st->wlen) {
		if (st->io) {
			short want = 0;

			n = st->io->write(st->io_ctx, st->wbuf + done,
			    st->wlen - done, &want);
			if (n > 0) {
				done += (size_t)n;
				continue;
			}
			if (n < 0 && want) {
				if ((r = stream_wait(st, want)) != STREAM_OK)
					goto fail;
				continue;
			}
			if (n == 0)
				errno = EIO;
			r = STREAM_ERROR;
			goto fail;
		}
		if ((r = stream_wait(st, POLLOUT)) != STREAM_OK)
			goto fail;
		if (st->is_sock)
			n = send(st->fd, st->wbuf + done, st->wlen - done,
			    MSG_NOSIGNAL);
		else
			n = write(st->fd, st->wbuf + done, st->wlen - done);
		if (n > 0)
			done += (size_t)n;
		else if (n < 0 && (errno == EINTR || errno == EAGAIN ||
				      errno == EWOULDBLOCK))
			continue;
		else {
			if (n == 0)
				errno = EIO;
			r = STREAM_ERROR;
			goto fail;
		}
	}
	st->wlen = 0;
	return STREAM_OK;
fail:
	st->wlen = 0;
	st->werr = st->status = r;
	return r;
}

int
stream_flush(struct stream *st)
{
	return stream_drain(st) == STREAM_OK ? 0 : -1;
}

/*
 * Read more input into the buffer when it is empty: flush pending output
 * first (the peer may be waiting for it), then wait and read once.
 */
static int
stream_fill(struct stream *st)
{
	ssize_t n;
	int r;

	if (st->rpos < st->rlen)
		return STREAM_OK;
	st->rpos = st->rlen = 0;
	if (st->eof)
		return st->status = STREAM_EOF;
	if (st->wlen > 0 && (r = stream_drain(st)) != STREAM_OK)
		return r;
	while (st->io) {
		short want = 0;

		n = st->io->read(st->io_ctx, st->rbuf, sizeof(st->rbuf), &want);
		if (n > 0) {
			st->rlen = (size_t)n;
			return STREAM_OK;
		}
		if (n == 0) {
			st->eof = true;
			return st->status = STREAM_EOF;
		}
		if (want == 0)
			return st->status = STREAM_ERROR;
		if ((r = stream_wait(st, want)) != STREAM_OK)
			return st->status = r;
	}
	for (;;) {
		if ((r = stream_wait(st, POLLIN)) != STREAM_OK)
			return st->status = r;
		n = read(st->fd, st->rbuf, sizeof(st->rbuf));
		if (n > 0) {
			st->rlen = (size_t)n;
			return STREAM_OK;
		}
		if (n == 0) {
			st->eof = true;
			return st->status = STREAM_EOF;
		}
		if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)
			return st->status = STREAM_ERROR;
	}
}

int
stream_getline(struct stream *st, struct str *line, size_t limit)
{
	bool toolong = false;
	size_t n, room;
	char *p, *nl;
	int r;

	str_reset(line);
	for (;;) {
		if ((r = stream_fill(st)) != STREAM_OK) {
			/* A long line cut by EOF is still too long. */
			if (r == STREAM_EOF && toolong)
				return STREAM_TOOLONG;
			return r;
		}
		p = st->rbuf + st->rpos;
		n = st->rlen - st->rpos;
		if ((nl = memchr(p, '\n', n)) != NULL)
			n = (size_t)(nl - p);
		if (!toolong) {
			room = limit - str_len(line);
			if (n > room) {
				str_catn(line, p, room);
				toolong = true;
			} else
				str_catn(line, p, n);
		}
		st->rpos += n;
		if (nl) {
			st->rpos++;
			return toolong ? STREAM_TOOLONG : STREAM_OK;
		}
	}
}

ssize_t
stream_read(struct stream *st, void *buf, size_t n)
{
	size_t avail;
	int r;

	if (n == 0)
		return 0;
	if ((r = stream_fill(st)) != STREAM_OK)
		return r == STREAM_EOF ? 0 : -1;
	avail = st->rlen - st->rpos;
	if (n > avail)
		n = avail;
	memcpy(buf, st->rbuf + st->rpos, n);
	st->rpos += n;
	return (ssize_t)n;
}

int
stream_write(struct stream *st, const void *buf, size_t n)
{
	const char *p = buf;
	size_t room;

	if (st->werr) {
		st->status = st->werr;
		return -1;
	}
	while (n > 0) {
		if (st->wlen == sizeof(st->wbuf) &&
		    stream_drain(st) != STREAM_OK)
			return -1;
		room = sizeof(st->wbuf) - st->wlen;
		if (room > n)
			room = n;
		memcpy(st->wbuf + st->wlen, p, room);
		st->wlen += room;
		p += room;
		n -= room;
	}
	return 0;
}

int
stream_puts(struct stream *st, const char *s)
{
	return stream_write(st, s, strlen(s));
}

int
stream_printf(struct stream *st, const char *fmt, ...)
{
	va_list ap;

	if (st->fmt == NULL)
		st->fmt = str_new(100);
	str_reset(st->fmt);
	va_start(ap, fmt);
	str_vcatfmt(st->fmt, fmt, ap);
	va_end(ap);
	return stream_write(st, str_ptr(st->fmt), str_len(st->fmt));
}
