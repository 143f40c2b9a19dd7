/*
 * qmgr_msg - read a message in active/ into memory: the envelope and the
 * recipients that are still to be delivered (R records).  Anything that is
 * not a well-formed queue file goes to corrupt/ with a warning.
 */
#include <sys/stat.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/util/alloc.h"
#include "lib/util/msg.h"
#include "lib/util/safe_open.h"
#include "lib/util/str.h"
#include "lib/util/stream.h"
#include "lib/mail/addr.h"
#include "lib/mail/params.h"
#include "lib/mail/queue.h"
#include "lib/mail/record.h"
#include "qmgr/qmgr.h"

/* Longest record qmgr accepts: values in the envelope, lines of content. */
#define QMGR_REC_MAX (1024 * 1024)

static void
rcpt_add(struct qmgr_msg *m, const char *orig, const char *addr,
    const char *dsn_orcpt, int notify, long offset)
{
	struct qmgr_rcpt *r;

	if (m->rcpt_count == m->rcpt_alloc) {
		m->rcpt_alloc = m->rcpt_alloc ? 2 * m->rcpt_alloc : 8;
		m->rcpt = xreallocarray(m->rcpt, m->rcpt_alloc, sizeof(*r));
	}
	r = &m->rcpt[m->rcpt_count++];
	r->orig = xstrdup(orig);
	r->addr = xstrdup(addr);
	r->dsn_orcpt = xstrdup(dsn_orcpt);
	r->notify = notify;
	r->offset = offset;
}

struct qmgr_msg *
qmgr_msg_free(struct qmgr_msg *m)
{
	if (m == NULL)
		return NULL;
	for (size_t i = 0; i < m->rcpt_count; i++) {
		free(m->rcpt[i].orig);
		free(m->rcpt[i].addr);
		free(m->rcpt[i].dsn_orcpt);
	}
	free(m->rcpt);
	deliver_request_free(m->info);
	free(m->id);
	free(m);
	return NULL;
}

/* A named attribute (A record) that the delivery request carries. */
static void
msg_attr(struct deliver_request *req, const char *data)
{
	static const struct {
		const char *name;
		size_t off;
	} map[] = {
#define F(n, f) { n, offsetof(struct deliver_request, f) }
		F("rewrite_context", rewrite_context),
		F("encoding", encoding), /* BODY=7BIT or BODY=8BITMIME */
		F("client_name", client_name),
		F("client_address", client_addr),
		F("client_port", client_port),
		F("protocol_name", protocol_name),
		F("helo_name", helo_name),
		F("sasl_method", sasl_method),
		F("sasl_username", sasl_username),
		F("sasl_sender", sasl_sender),
#undef F
	};
	const char *eq = strchr(data, '=');

	if (eq == NULL)
		return;
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strlen(map[i].name) == (size_t)(eq - data) &&
		    strncmp(map[i].name, data, (size_t)(eq - data)) == 0) {
			struct str **f =
			    (struct str **)((char *)req + map[i].off);

			str_set(*f, eq + 1);
		}
}

static int
parse_long(const char *s, long *out)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	*out = strtol(s, &end, 10);
	return *end == 0 ? 0 : -1;
}

struct qmgr_msg *
qmgr_msg_read(const char *id)
{
	struct str *path = str_new(0), *buf = str_new(0), *why = str_new(0);
	struct str *orig = str_new(0), *orcpt = str_new(0);
	struct qmgr_msg *m = xcalloc(1, sizeof(*m));
	struct deliver_request *req;
	struct queue_size sz;
	struct rec_meta meta;
	struct stream *st = NULL;
	const char *bad = NULL;
	long pos = 0, n, notify = 0;
	bool have_size = false, have_sender = false, have_time = false;
	int type, fd, segment = 0; /* 0 envelope, 1 content, 2 extracted */

	m->id = xstrdup(id);
	m->info = req = deliver_request_new();
	str_set(req->queue_name, QUEUE_ACTIVE);
	str_set(req->queue_id, id);
	queue_path(path, QUEUE_ACTIVE, id);
	if ((fd = safe_open(str_ptr(path), O_RDONLY, 0, NULL, -1, -1, why)) <
	    0) {
		msg_warn("%s: open %s: %s", id, str_ptr(path), str_ptr(why));
		m = qmgr_msg_free(m);
		goto out;
	}
	st = stream_open(fd);
	for (;;) {
		long here = pos;

		type = rec_get_meta(st, buf, QMGR_REC_MAX, &meta);
		pos += (long)meta.bytes;
		if (type == REC_EOF) {
			bad = "missing end record";
			break;
		}
		if (type < 0) {
			bad = type == REC_ERROR ? NULL : "malformed record";
			if (type == REC_ERROR)
				msg_warn("%s: read %s: %m", id, str_ptr(path));
			break;
		}
		if (here == 0 && (type != REC_TYPE_VERSION ||
				     strcmp(str_ptr(buf), QUEUE_FORMAT) != 0)) {
			bad = "unsupported queue file version";
			break;
		}
		if (type == REC_TYPE_END)
			break;
		if (segment == 1) {
			if (type == REC_TYPE_XTRA)
				segment = 2;
			else if (type != REC_TYPE_NORM &&
				 type != REC_TYPE_CONT) {
				bad = "unexpected record in content";
				break;
			}
			continue;
		}
		switch (type) {
		case REC_TYPE_SIZE:
			if (queue_size_parse(str_ptr(buf), &sz) < 0 ||
			    sz.data_offset <= 0 || sz.content_size < 0) {
				bad = "malformed size record";
				goto done;
			}
			have_size = true;
			req->data_offset = sz.data_offset;
			req->data_size = sz.content_size;
			if (sz.qmgr_flags & QUEUE_FLAG_8BITMIME)
				str_set(req->encoding, "8bit");
			req->sendopts = (int)sz.smtputf8;
			break;
		case REC_TYPE_TIME: {
			long sec, usec = 0;
			char *end;

			sec = strtol(str_ptr(buf), &end, 10);
			if (*end == ' ')
				usec = strtol(end + 1, &end, 10);
			if (*end != 0 || sec < 0 || usec < 0 ||
			    usec >= 1000000) {
				bad = "malformed time record";
				goto done;
			}
			req->arrival.tv_sec = sec;
			req->arrival.tv_usec = usec;
			have_time = true;
			break;
		}
		case REC_TYPE_FROM:
			str_set(req->sender, str_ptr(buf));
			have_sender = true;
			break;
		case REC_TYPE_ATTR:
			if (strncmp(str_ptr(buf), "trace_flags=", 12) == 0) {
				if (parse_long(str_ptr(buf) + 12, &n) == 0 &&
				    (n & QUEUE_TRACE_VERIFY))
					req->flags |=
					    DELIVER_FLAG_VERIFY |
					    DELIVER_FLAG_RECORD_SUCCESS;
				break;
			}
			msg_attr(req, str_ptr(buf));
			break;
		case REC_TYPE_WARN: {
			const char *p = str_ptr(buf);

			while (*p == ' ')
				p++;
			if (str_len(buf) == QUEUE_WARN_WIDTH &&
			    parse_long(p, &n) == 0) {
				m->warn_time = n;
				m->warn_offset = here;
			}
			break;
		}
		case REC_TYPE_DSN_ENVID:
			str_set(req->envid, str_ptr(buf));
			break;
		case REC_TYPE_DSN_RET:
			if (parse_long(str_ptr(buf), &n) == 0)
				req->ret = (int)n;
			break;
		case REC_TYPE_ORCP:
			str_set(orig, str_ptr(buf));
			break;
		case REC_TYPE_DSN_ORCPT:
			str_set(orcpt, str_ptr(buf));
			break;
		case REC_TYPE_DSN_NOTIFY:
			if (parse_long(str_ptr(buf), &notify) < 0 ||
			    notify > 15)
				notify = 0;
			break;
		case REC_TYPE_RCPT:
			rcpt_add(m, str_ptr(orig), str_ptr(buf), str_ptr(orcpt),
			    (int)notify, here);
			/* FALLTHROUGH */
		case REC_TYPE_DONE:
		case REC_TYPE_DRCP:
			str_reset(orig);
			str_reset(orcpt);
			notify = 0;
			break;
		case REC_TYPE_MESG:
			if (segment != 0 || !have_size ||
			    pos != req->data_offset) {
				bad = "message content at the wrong offset";
				goto done;
			}
			segment = 1;
			break;
		default:
			/* F, f, V, L, >, d, r, e, P, ...: not ours. */
			break;
		}
	}
done:
	if (bad == NULL && type == REC_TYPE_END &&
	    (!have_size || !have_sender || !have_time || segment != 2))
		bad = "missing envelope or content records";
	if (bad == NULL && type == REC_TYPE_END &&
	    rec_get(st, buf, 1) != REC_EOF)
		bad = "data after the end record";
	if (bad != NULL) {
		queue_corrupt(QUEUE_ACTIVE, id, bad);
		m = qmgr_msg_free(m);
	} else if (type != REC_TYPE_END) {
		m = qmgr_msg_free(m); /* read error: left in active/ */
	}
	if (m != NULL) {
		struct str *ext = str_new(0);

		addr_externalize(ext, str_ptr(req->sender));
		msg_info("%s: from=<%s>, size=%ld, nrcpt=%zu (queue active)",
		    id, str_ptr(ext), req->data_size, m->rcpt_count);
		str_free(ext);
	}
out:
	stream_close(st);
	str_free(path);
	str_free(buf);
	str_free(why);
	str_free(orig);
	str_free(orcpt);
	return m;
}

/* The R records still in the file (agents turn them into D). */
long
qmgr_msg_remaining(const struct qmgr_msg *m)
{
	struct str *path = str_new(0);
	long left = 0;
	int fd;

	queue_path(path, QUEUE_ACTIVE, m->id);
	fd = safe_open(str_ptr(path), O_RDONLY, 0, NULL, -1, -1, NULL);
	if (fd < 0) {
		msg_warn("%s: open %s: %m", m->id, str_ptr(path));
		left = -1;
	} else {
		for (size_t i = 0; i < m->rcpt_count; i++) {
			unsigned char c;

			if (pread(fd, &c, 1, m->rcpt[i].offset) != 1) {
				left = -1;
				break;
			}
			if (c == REC_TYPE_RCPT)
				left++;
		}
		close(fd);
	}
	str_free(path);
	return left;
}

/* The delay warning went out: W gets 0 in place, so it is sent once. */
int
qmgr_msg_warned(struct qmgr_msg *m)
{
	struct str *path = str_new(0), *data = str_new(0);
	int fd, ret = -1;

	m->warn_time = 0;
	queue_path(path, QUEUE_ACTIVE, m->id);
	str_fmt(data, "%*ld", QUEUE_WARN_WIDTH, 0L);
	fd = safe_open(str_ptr(path), O_RDWR, 0, NULL, -1, -1, NULL);
	if (fd < 0 ||
	    pwrite(fd, str_ptr(data), str_len(data),
		m->warn_offset + (long)rec_size(QUEUE_WARN_WIDTH) -
		    QUEUE_WARN_WIDTH) != (ssize_t)str_len(data) ||
	    fsync(fd) < 0)
		msg_warn("%s: update warning time in %s: %m", m->id,
		    str_ptr(path));
	else
		ret = 0;
	if (fd >= 0)
		close(fd);
	str_free(path);
	str_free(data);
	return ret;
}
