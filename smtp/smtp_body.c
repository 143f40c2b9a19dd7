/*
 * smtp_body - the message content to the server, after DATA: records
 * from the queue file, through the 8BITMIME downgrade (mime_down.c) and
 * smtp_*_checks (smtp_hbc.c) when they apply, written with CRLF line ends,
 * dot-stuffed, and lines longer than smtp_line_length_limit broken with
 * "<CR><LF><SPACE>" (logged once per message, as Postfix does: "QID:
 * breaking line > 998 bytes with <CR><LF>SPACE").
 */
#include <sys/types.h>
#include <stdbool.h>
#include <unistd.h>

#include "lib/util/msg.h"
#include "lib/util/str.h"
#include "lib/util/stream.h"
#include "lib/mail/deliver.h"
#include "lib/mail/mime_down.h"
#include "lib/mail/params.h"
#include "lib/mail/record.h"
#include "smtp.h"

#define SMTP_REC_MAX (1 << 20) /* one content record */

/* Where the message content goes: the session, with column state. */
struct smtp_body_out {
	struct smtp_session *s;
	int prev;    /* the last record's type */
	long col;    /* output column */
	long limit;  /* smtp_line_length_limit, 0: none */
	bool broken; /* a line was broken (logged once, as Postfix) */
};

/*
 * One content record to the server: CRLF after a complete line,
 * dot-stuffing, lines broken at smtp_line_length_limit
 * ("<CR><LF><SPACE>"): 0 or -1 on a write error.
 */
static int
smtp_body_write(void *ctx, int type, const char *p, size_t left)
{
	struct smtp_body_out *o = ctx;
	struct stream *st = o->s->st;

	if (o->prev == REC_TYPE_NORM) {
		o->col = 0;
		if (left > 0 && p[0] == '.' && stream_write(st, ".", 1) < 0)
			return -1;
	}
	while (left > 0) {
		size_t n = left;

		if (o->limit > 0 && o->col + (long)n > o->limit)
			n = (size_t)(o->limit - o->col);
		if (n > 0 && stream_write(st, p, n) < 0)
			return -1;
		p += n;
		left -= n;
		o->col += (long)n;
		if (left > 0) {
			if (!o->broken)
				msg_info("%s: breaking line > %ld bytes with "
					 "<CR><LF>SPACE",
				    str_ptr(o->s->state->req->queue_id),
				    o->limit);
			o->broken = true;
			if (stream_write(st, "\r\n ", 3) < 0)
				return -1;
			o->col = 1;
		}
	}
	if (type == REC_TYPE_NORM && stream_write(st, "\r\n", 2) < 0)
		return -1;
	o->prev = type;
	return 0;
}

/*
 * The message content from the queue file, converted to 7 bit when
 * downgrade is set: 0, -1 on a write error, -2 when the queue file is
 * bad, -3 when a smtp_*_checks lookup failed.
 */
int
smtp_send_body(struct smtp_session *s, bool downgrade)
{
	struct deliver_request *req = s->state->req;
	struct smtp_body_out o = { .s = s, .prev = REC_TYPE_NORM };
	struct mime_down *down = NULL;
	struct smtp_hbc *hbc = NULL; /* smtp_header_checks, smtp_hbc.c */
	mime_down_out_fn *sink = smtp_body_write;
	void *sink_ctx = &o;
	struct str *buf = str_new(0);
	struct stream *q = NULL;
	int fd, type, ret = -2;

	o.limit = SMTP_VAR(line_length_limit);
	if ((fd = dup(s->state->qfd)) < 0 ||
	    lseek(fd, req->data_offset, SEEK_SET) < 0) {
		if (fd >= 0)
			close(fd);
		goto out;
	}
	q = stream_open(fd);
	hbc = smtp_hbc_new(&sink, &sink_ctx, str_ptr(req->queue_id), downgrade);
	if (downgrade)
		down = mime_down_new(sink, sink_ctx);
	stream_set_timeout(s->st, SMTP_VAR(data_xfer_timeout) * 1000);
	while ((type = rec_get(q, buf, SMTP_REC_MAX)) == REC_TYPE_NORM ||
	       type == REC_TYPE_CONT) {
		if ((down ? mime_down_update(down, type, str_ptr(buf),
				str_len(buf))
			  : sink(sink_ctx, type, str_ptr(buf), str_len(buf))) <
		    0) {
			ret = -1;
			goto out;
		}
	}
	if (type != REC_TYPE_XTRA)
		goto out;
	if ((down && mime_down_finish(down) < 0) ||
	    (hbc && smtp_hbc_finish(hbc) < 0)) {
		ret = -1;
		goto out;
	}
	/* An unterminated last line still ends before the dot. */
	if (o.prev == REC_TYPE_CONT && stream_write(s->st, "\r\n", 2) < 0) {
		ret = -1;
		goto out;
	}
	ret = 0;
out:
	ret = smtp_hbc_done(hbc, ret);
	mime_down_free(down);
	stream_close(q);
	str_free(buf);
	return ret;
}
