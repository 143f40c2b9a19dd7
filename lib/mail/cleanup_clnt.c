/*
 * cleanup_clnt - the client side of the cleanup protocol (cleanup_proto.h):
 * pickup and, later, smtpd use it to hand a message to cleanup.
 */
#include <stdlib.h>
#include <string.h>

#include "lib/util/alloc.h"
#include "lib/util/sock.h"
#include "lib/util/str.h"
#include "lib/util/stream.h"
#include "lib/mail/attr.h"
#include "lib/mail/cleanup_proto.h"
#include "lib/mail/params.h"
#include "lib/mail/queue.h"

/* Longest reason text accepted from cleanup. */
#define CLEANUP_REASON_MAX 4096

struct cleanup {
	struct stream *st;
	char *queue_id;
};

struct cleanup *
cleanup_open(const char *path, int flags, struct str *why)
{
	struct attr_list *al = attr_new();
	struct cleanup *c = NULL;
	struct stream *st = NULL;
	const char *id;
	int fd;

	fd = sock_unix_connect(path, var_ipc_timeout * 1000, why);
	if (fd < 0)
		goto out;
	st = stream_open(fd);
	stream_set_timeout(st, var_ipc_timeout * 1000);
	if (attr_read(st, al, QUEUE_ID_MAX + 64) < 0) {
		str_fmt(why, "%s: no greeting from the cleanup service", path);
		goto out;
	}
	id = attr_get(al, "queue_id");
	if (!attr_expect(al, "protocol", CLEANUP_PROTOCOL) || id == NULL ||
	    !queue_id_ok(id)) {
		str_fmt(why, "%s: unexpected greeting from the cleanup service",
		    path);
		goto out;
	}
	c = xcalloc(1, sizeof(*c));
	c->queue_id = xstrdup(id);
	attr_reset(al);
	attr_put_long(al, "flags", flags);
	if (attr_write(st, al) < 0) {
		str_fmt(why, "%s: write flags to the cleanup service: %m",
		    path);
		free(c->queue_id);
		free(c);
		c = NULL;
		goto out;
	}
	c->st = st;
	st = NULL;
out:
	stream_close(st);
	attr_free(al);
	return c;
}

struct stream *
cleanup_stream(struct cleanup *c)
{
	return c->st;
}

const char *
cleanup_queue_id(const struct cleanup *c)
{
	return c->queue_id;
}

int
cleanup_close(struct cleanup *c, struct str *reason)
{
	struct attr_list *al = attr_new();
	const char *text;
	long status;
	int ret = CLEANUP_STAT_WRITE;

	if (reason)
		str_reset(reason);
	if (stream_flush(c->st) < 0 ||
	    attr_read(c->st, al, CLEANUP_REASON_MAX) < 0 ||
	    attr_get_long(al, "status", &status) < 0 || status < 0 ||
	    status > 0xffff)
		goto out;
	ret = (int)status;
	text = attr_get(al, "reason");
	if (reason && text)
		str_set(reason, text);
out:
	attr_free(al);
	stream_close(c->st);
	free(c->queue_id);
	free(c);
	return ret;
}

struct cleanup *
cleanup_abort(struct cleanup *c)
{
	if (c == NULL)
		return NULL;
	stream_close(c->st);
	free(c->queue_id);
	free(c);
	return NULL;
}

/* Postfix's cleanup_strerror(): the first bit in this order decides. */
const struct cleanup_smtp *
cleanup_stat_smtp(int status)
{
	static const struct {
		int bit;
		struct cleanup_smtp smtp;
	} map[] = {
		{ CLEANUP_STAT_DEFER,
		    { "451", "4.7.1", "service unavailable" } },
		{ CLEANUP_STAT_PROXY,
		    { "451", "4.3.0", "queue file write error" } },
		{ CLEANUP_STAT_BAD,
		    { "451", "4.3.0", "internal protocol error" } },
		{ CLEANUP_STAT_RCPT,
		    { "550", "5.1.0", "no recipients specified" } },
		{ CLEANUP_STAT_HOPS, { "554", "5.4.0", "too many hops" } },
		{ CLEANUP_STAT_SIZE,
		    { "552", "5.3.4", "message file too big" } },
		{ CLEANUP_STAT_CONT,
		    { "550", "5.7.1", "message content rejected" } },
		{ CLEANUP_STAT_WRITE,
		    { "451", "4.3.0", "queue file write error" } },
		{ CLEANUP_STAT_NOPERM, { "550", "5.7.1", "service denied" } },
	};
	static const struct cleanup_smtp ok = { "250", "2.0.0", "Success" };
	size_t i;

	if (status == 0)
		return &ok;
	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (status & map[i].bit)
			return &map[i].smtp;
	return &map[0].smtp;
}
