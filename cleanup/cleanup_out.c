/*
 * cleanup_out - write the queue file: records with the running offset,
 * header and body lines split at line_length_limit, the size record
 * patched at the end, and the durable finish (queue.h).
 *
 * Crash safety: the file is created in incoming/ without the complete mark
 * and gets it only in queue_finish(), after E is written, in the fsync
 * that makes the data durable; a message to hold is renamed into hold/ before it is finished.
 * A crash or kill -9 at any earlier point leaves a file that no reader
 * takes.  Every write error turns into CLEANUP_STAT_WRITE and the file is
 * removed.
 */
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include "lib/util/msg.h"
#include "lib/util/str.h"
#include "lib/util/stream.h"
#include "lib/mail/cleanup_proto.h"
#include "lib/mail/mime.h"
#include "lib/mail/params.h"
#include "lib/mail/queue.h"
#include "lib/mail/record.h"
#include "lib/mail/smtputf8.h"
#include "cleanup.h"

/*
 * Record an error: the first reason given is the one the client gets.
 * Text starts with an enhanced status code ("4.3.0 ...").
 */
void
cleanup_fail(struct cleanup_state *s, int status, const char *fmt, ...)
{
	va_list ap;

	s->status |= status;
	if (str_len(s->reason) == 0 && fmt != NULL) {
		va_start(ap, fmt);
		str_vcatfmt(s->reason, fmt, ap);
		va_end(ap);
	}
}

/* Create incoming/ID and write the records that come before the envelope. */
int
cleanup_out_open(struct cleanup_state *s)
{
	struct queue_size qs = { 0 };
	struct str *why = str_new(64);
	int ret = -1;

	s->fd = queue_create(QUEUE_INCOMING, s->queue_id, why);
	if (s->fd < 0) {
		msg_warn("create file in %s: %s", QUEUE_INCOMING, str_ptr(why));
		goto out;
	}
	s->dst = stream_open(s->fd);
	cleanup_out_str(s, REC_TYPE_VERSION, QUEUE_FORMAT);
	queue_size_fmt(why, &qs);
	s->size_offset =
	    s->offset + (off_t)(rec_size(str_len(why)) - str_len(why));
	cleanup_out(s, REC_TYPE_SIZE, str_ptr(why), str_len(why));
	ret = s->status ? -1 : 0;
out:
	str_free(why);
	return ret;
}

/* Write one record unless the message is already failed or discarded. */
void
cleanup_out(struct cleanup_state *s, int type, const char *data, size_t len)
{
	if (s->status != 0 || s->discard || s->dst == NULL)
		return;
	if (rec_put(s->dst, type, data, len) < 0) {
		msg_warn("%s: write queue file: %m", str_ptr(s->queue_id));
		cleanup_fail(s, CLEANUP_STAT_WRITE,
		    "4.3.0 queue file write error");
		return;
	}
	s->offset += (off_t)rec_size(len);
}

void
cleanup_out_str(struct cleanup_state *s, int type, const char *cstr)
{
	cleanup_out(s, type, cstr, strlen(cstr));
}

void
cleanup_out_fmt(struct cleanup_state *s, int type, const char *fmt, ...)
{
	struct str *tmp = str_new(128);
	va_list ap;

	va_start(ap, fmt);
	str_vcatfmt(tmp, fmt, ap);
	va_end(ap);
	cleanup_out(s, type, str_ptr(tmp), str_len(tmp));
	str_free(tmp);
}

/*
 * One complete content line: pieces of line_length_limit bytes as L
 * records, the rest as an N record, as the clients write them.
 */
void
cleanup_out_line(struct cleanup_state *s, const char *p, size_t len)
{
	size_t piece = (size_t)var_line_length_limit;

	s->content_size += (long)len + 1;
	while (len > piece) {
		cleanup_out(s, REC_TYPE_CONT, p, piece);
		p += piece;
		len -= piece;
	}
	cleanup_out(s, REC_TYPE_NORM, p, len);
}

/*
 * A logical header: its lines are separated by newlines.  A header that
 * cleanup rewrote or made up is cut to header_size_limit as mime cuts the
 * client's (Postfix's rule; a no-op for what mime already cut).
 */
void
cleanup_out_header(struct cleanup_state *s, const char *p, size_t len)
{
	const char *nl;

	len = mime_header_cut(p, len, (size_t)var_header_size_limit);

	while ((nl = memchr(p, '\n', len)) != NULL) {
		cleanup_out_line(s, p, (size_t)(nl - p));
		len -= (size_t)(nl - p) + 1;
		p = nl + 1;
	}
	cleanup_out_line(s, p, len);
}

/*
 * Patch the size record, move to hold/ when asked, and make the file
 * durable and complete.  0, or -1 with the status set.
 */
int
cleanup_out_finish(struct cleanup_state *s)
{
	struct queue_size qs = { 0 };
	struct str *data = str_new(128);
	struct str *why = str_new(64);
	int ret = -1;

	if (stream_flush(s->dst) < 0) {
		msg_warn("%s: write queue file: %m", str_ptr(s->queue_id));
		goto fail;
	}
	/* Postfix's message_size: showq and postcat -e seek over it. */
	qs.content_size = s->segment_size;
	qs.data_offset = s->data_offset;
	qs.rcpt_count = s->rcpt_count;
	qs.qmgr_flags = s->qmgr_flags;
	qs.content_length = s->segment_size; /* Postfix's too (observed) */
	/*
	 * smtputf8_autodetect_classes: UTF-8 anywhere in the envelope or the
	 * headers asks for SMTPUTF8; with it requested, what needs it is
	 * noted, so that smtp refuses only a server that cannot take it.
	 */
	if ((s->flags & CLEANUP_FLAG_AUTOUTF8) && s->utf8_seen)
		s->smtputf8 |= SMTPUTF8_FLAG_REQUESTED;
	if (s->smtputf8 & SMTPUTF8_FLAG_REQUESTED)
		s->smtputf8 |= s->utf8_seen;
	qs.smtputf8 = s->smtputf8;
	queue_size_fmt(data, &qs);
	if (pwrite(s->fd, str_ptr(data), str_len(data), s->size_offset) !=
	    (ssize_t)str_len(data)) {
		msg_warn("%s: update size record: %m", str_ptr(s->queue_id));
		goto fail;
	}
	/* Not complete yet, so nobody takes it from hold/ half written. */
	if (s->hold) {
		if (queue_move(QUEUE_INCOMING, str_ptr(s->queue_id), QUEUE_HOLD,
			why) < 0) {
			msg_warn("%s: %s", str_ptr(s->queue_id), str_ptr(why));
			goto fail;
		}
		s->queue = QUEUE_HOLD;
	}
	if (queue_finish(s->fd, s->queue, str_ptr(s->queue_id), 0700, why) <
	    0) {
		msg_warn("%s: %s", str_ptr(s->queue_id), str_ptr(why));
		goto fail;
	}
	ret = 0;
	goto out;
fail:
	cleanup_fail(s, CLEANUP_STAT_WRITE, "4.3.0 queue file write error");
out:
	str_free(data);
	str_free(why);
	return ret;
}

/* Remove the file we are writing (after any error, discard or EOF). */
void
cleanup_out_remove(struct cleanup_state *s)
{
	if (s->dst == NULL)
		return;
	s->dst = stream_close(s->dst);
	s->fd = -1;
	if (queue_remove(s->queue, str_ptr(s->queue_id)) < 0 && errno != ENOENT)
		msg_warn("%s: remove %s/%s: %m", str_ptr(s->queue_id), s->queue,
		    str_ptr(s->queue_id));
}
