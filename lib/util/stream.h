/*
 * stream - buffered I/O on one descriptor, with timeouts, a deadline and
 * bounded lines, for sequential per-connection code (an SMTP session, a
 * delivery).  An I/O error or timeout is returned, never longjmp'd: the
 * caller unwinds.  Binary-safe; waits with poll() on this descriptor only.
 *
 * stream_open(fd)                 wrap fd (takes ownership)
 * stream_close(st)                flush, close fd, free (NULL ok); returns NULL
 * stream_fd(st)                   the descriptor
 * stream_set_timeout(st, ms)      bound each wait for the descriptor; 0 = none
 * stream_set_deadline(st, ms)     bound all waits until now+ms; 0 = none
 * stream_getline(st, line, limit) read one line into line, without the newline
 * stream_read(st, buf, n)         read up to n bytes: count, 0 at EOF, -1
 * stream_write(st, buf, n)        buffer n bytes (flushing when full); 0/-1
 * stream_puts(st, s)              stream_write of a C string (no newline added)
 * stream_printf(st, fmt, ...)     formatted stream_write; 0/-1
 * stream_flush(st)                write all buffered output; 0/-1
 * stream_pending(st)              bytes of input already buffered
 * stream_purge(st)                discard buffered input (after STARTTLS)
 * stream_status(st)               why the last call failed: STREAM_TIMEOUT etc.
 * stream_set_io(st, io, ctx)      route reads and writes through io (TLS);
 *                                 NULL: back to the descriptor
 * stream_await(st, events)        wait for POLLIN/POLLOUT on the descriptor
 *                                 within the timeout and deadline (for a
 *                                 handshake): STREAM_OK/TIMEOUT/ERROR
 *
 * stream_getline() returns STREAM_OK with a complete line (a trailing CR is
 * kept: callers decide about bare LF), STREAM_EOF at end of input (line then
 * holds any partial last line, which SMTP code must not act on),
 * STREAM_TOOLONG when the line had more than limit bytes (line holds the
 * first limit bytes; the rest was read and discarded through the newline,
 * so the next call starts on the next line), STREAM_TIMEOUT or STREAM_ERROR.
 * The limit counts every byte before the newline, CR included.
 *
 * The timeout bounds each wait, like Postfix's per-read timeout: progress
 * resets it, so a client trickling one byte at a time never trips it.  The
 * deadline bounds the total across many reads and writes; set it at the
 * start of each request.  Once it has passed every wait fails at once, so
 * reset it before writing a "421 timeout" reply.  Buffered input is served
 * without waiting.  Before waiting for input, pending output is flushed,
 * which makes replies to pipelined commands go out in one write.
 *
 * An I/O hook (struct stream_io) replaces read() and write() on the
 * descriptor, e.g. by SSL_read() and SSL_write() on a non-blocking socket.
 * Each function returns a count, 0 at EOF (read only), or -1; with -1 it
 * sets *want to POLLIN or POLLOUT when the operation must be retried once
 * the descriptor is ready (the stream waits within its timeout and
 * deadline and calls it again), or to 0 for a hard error (errno set).  The
 * hook is called before any wait, so data it has buffered is served first.
 * Input that the stream had buffered before the hook was set stays
 * buffered: callers that must not act on it use stream_purge().
 *
 * A write error or timeout is sticky: buffered output is dropped and later
 * writes and flushes fail.  Writes to a socket use MSG_NOSIGNAL.
 */
#ifndef STREAM_H
#define STREAM_H

#include <sys/types.h>
#include <stddef.h>

#include "lib/util/str.h"

enum {
	STREAM_OK = 0,
	STREAM_EOF = -1,
	STREAM_TOOLONG = -2,
	STREAM_TIMEOUT = -3,
	STREAM_ERROR = -4,
};

struct stream;

struct stream_io {
	ssize_t (*read)(void *, void *, size_t, short *);
	ssize_t (*write)(void *, const void *, size_t, short *);
};

struct stream *stream_open(int);
struct stream *stream_close(struct stream *);
int stream_fd(struct stream *);
void stream_set_timeout(struct stream *, int);
void stream_set_deadline(struct stream *, int);
int stream_getline(struct stream *, struct str *, size_t)
    __attribute__((warn_unused_result));
ssize_t stream_read(struct stream *, void *, size_t)
    __attribute__((warn_unused_result));
int stream_write(struct stream *, const void *, size_t);
int stream_puts(struct stream *, const char *);
int stream_printf(struct stream *, const char *, ...)
    __attribute__((format(printf, 2, 3)));
int stream_flush(struct stream *);
size_t stream_pending(struct stream *);
void stream_purge(struct stream *);
int stream_status(struct stream *);
void stream_set_io(struct stream *, const struct stream_io *, void *);
int stream_await(struct stream *, short);

#endif
