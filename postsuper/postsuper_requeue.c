/*
 * postsuper_requeue - postsuper -r: turn a queue file back into a
 * submission for pickup.
 *
 * Postfix renames the queue file into maildrop/ and its pickup copies any
 * queue file.  Postern's pickup accepts only the submission grammar of
 * lib/mail/submit.h (maildrop is writable by local users), so the file is
 * rewritten: its arrival time, sender (full name, DSN RET/ENVID, VERP),
 * rewrite context and encoding, every recipient not yet delivered (with
 * its NOTIFY; envelope and extracted ones alike) and the content, as a
 * new maildrop file.  Other named attributes and original recipients are
 * not carried: cleanup derives them anew, as for a new submission.
 *
 * Crash safety: the new file is complete and durable (queue_finish)
 * before the original is removed, so a crash leaves the message twice at
 * worst, never not at all.
 */
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/util/str.h"
#include "lib/util/stream.h"
#include "lib/mail/cleanup_proto.h"
#include "lib/mail/params.h"
#include "lib/mail/queue.h"
#include "lib/mail/record.h"
#include "postsuper/postsuper.h"

/* A record of the envelope that a submission may carry. */
static bool
ps_rq_keep_env(int type, const struct str *buf)
{
	switch (type) {
	case REC_TYPE_FULL:
	case REC_TYPE_FROM:
	case REC_TYPE_DSN_RET:
	case REC_TYPE_DSN_ENVID:
	case REC_TYPE_VERP:
		return true;
	case REC_TYPE_ATTR:
		return strncmp(str_ptr(buf), "rewrite_context=", 16) == 0 ||
		       strncmp(str_ptr(buf), "encoding=", 9) == 0;
	default:
		return false;
	}
}

/*
 * Pass 1: the header of the new file (T, envelope, recipients) into env,
 * and the offset where the content records start.  0, or -1 with why.
 */
static int
ps_rq_scan(struct stream *in, const char *path, struct str *env, long *content,
    long *nrcpt, struct str *why)
{
	struct str *buf = str_new(256), *recips = str_new(256);
	struct str *notify = NULL;
	struct rec_meta meta;
	bool in_content = false;
	long pos = 0;
	int type, rc = -1;
	size_t limit = (size_t)var_line_length_limit;

	*content = -1;
	*nrcpt = 0;
	for (;;) {
		type = rec_get_meta(in, buf, limit, &meta);
		if (type < 0) {
			str_fmt(why, "%s: damaged queue file at offset %ld",
			    path, pos);
			goto out;
		}
		pos += (long)meta.bytes;
		if (type == REC_TYPE_END)
			break;
		if (in_content) {
			if (type == REC_TYPE_XTRA)
				in_content = false;
			continue;
		}
		switch (type) {
		case REC_TYPE_TIME:
			if (str_len(env) == 0)
				rec_cat(env, type, str_ptr(buf), str_len(buf));
			break;
		case REC_TYPE_MESG:
			*content = pos;
			in_content = true;
			break;
		case REC_TYPE_DSN_NOTIFY:
			if (notify == NULL)
				notify = str_new(16);
			str_set(notify, str_ptr(buf));
			break;
		case REC_TYPE_RCPT:
			if (notify != NULL)
				rec_cat(recips, REC_TYPE_DSN_NOTIFY,
				    str_ptr(notify), str_len(notify));
			rec_cat(recips, type, str_ptr(buf), str_len(buf));
			notify = str_free(notify);
			(*nrcpt)++;
			break;
		case REC_TYPE_DONE:
		case REC_TYPE_DRCP:
		case REC_TYPE_ORCP:
		case REC_TYPE_DSN_ORCPT:
			if (type != REC_TYPE_ORCP && type != REC_TYPE_DSN_ORCPT)
				notify = str_free(notify);
			break;
		default:
			if (str_len(env) > 0 && ps_rq_keep_env(type, buf))
				rec_cat(env, type, str_ptr(buf), str_len(buf));
			/* A sendmail -bv probe stays one (queue.h). */
			if (str_len(env) > 0 && type == REC_TYPE_ATTR &&
			    strncmp(str_ptr(buf), "trace_flags=", 12) == 0 &&
			    (atol(str_ptr(buf) + 12) & QUEUE_TRACE_VERIFY)) {
				str_fmt(buf, "%d", CLEANUP_XFLAG_VERIFY);
				rec_cat(env, REC_TYPE_FLGS, str_ptr(buf),
				    str_len(buf));
			}
			break;
		}
	}
	if (str_len(env) == 0 || *content < 0) {
		str_fmt(why, "%s: no time or content record", path);
		goto out;
	}
	str_catn(env, str_ptr(recips), str_len(recips));
	rc = 0;
out:
	str_free(buf);
	str_free(recips);
	str_free(notify);
	return rc;
}

/* Pass 2: the content records from offset content up to X. */
static int
ps_rq_copy(int fd, long content, struct str *out, const char *path,
    struct str *why)
{
	struct str *buf = str_new(256);
	struct stream *in;
	int type, dfd, rc = -1;

	if ((dfd = dup(fd)) < 0 || lseek(dfd, content, SEEK_SET) < 0) {
		str_fmt(why, "%s: seek: %s", path, strerror(errno));
		if (dfd >= 0)
			close(dfd);
		str_free(buf);
		return -1;
	}
	in = stream_open(dfd);
	while ((type = rec_get(in, buf, (size_t)var_line_length_limit)) ==
		   REC_TYPE_NORM ||
	       type == REC_TYPE_CONT)
		rec_cat(out, type, str_ptr(buf), str_len(buf));
	if (type != REC_TYPE_XTRA)
		str_fmt(why, "%s: damaged content", path);
	else
		rc = 0;
	stream_close(in);
	str_free(buf);
	return rc;
}

int
ps_requeue(const char *queue, const char *id, struct str *newid,
    struct str *why)
{
	struct str *path = str_new(64), *data = str_new(4096);
	struct stream *in = NULL;
	long content, nrcpt;
	int fd = -1, out = -1, rc = -1;

	queue_path(path, queue, id);
	if ((fd = open(str_ptr(path), O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		str_fmt(why, "open %s: %s", str_ptr(path), strerror(errno));
		goto out;
	}
	in = stream_open(dup(fd));
	if (ps_rq_scan(in, str_ptr(path), data, &content, &nrcpt, why) < 0)
		goto out;
	if (nrcpt == 0) {
		rc = 1;
		goto out;
	}
	rec_cat(data, REC_TYPE_MESG, "", 0);
	if (ps_rq_copy(fd, content, data, str_ptr(path), why) < 0)
		goto out;
	rec_cat(data, REC_TYPE_XTRA, "", 0);
	rec_cat(data, REC_TYPE_END, "", 0);

	if ((out = queue_create(QUEUE_MAILDROP, newid, why)) < 0)
		goto out;
	if (write(out, str_ptr(data), str_len(data)) !=
		(ssize_t)str_len(data) ||
	    queue_finish(out, QUEUE_MAILDROP, str_ptr(newid), 0744, why) < 0) {
		if (str_len(why) == 0)
			str_fmt(why, "write maildrop/%s: %s", str_ptr(newid),
			    strerror(errno));
		(void)queue_remove(QUEUE_MAILDROP, str_ptr(newid));
		goto out;
	}
	/* The new file is durable: now the old one may go. */
	if (unlink(str_ptr(path)) < 0) {
		str_fmt(why, "remove %s: %s", str_ptr(path), strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (out >= 0)
		close(out);
	if (fd >= 0)
		close(fd);
	stream_close(in);
	str_free(path);
	str_free(data);
	return rc;
}
