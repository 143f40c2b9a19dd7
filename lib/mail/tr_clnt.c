/*
 * tr_clnt - rewrite and resolve requests to trivial-rewrite over one
 * kept-open connection to private/$rewrite_service_name.
 *
 * The path is relative: daemons run in queue_directory (chrooted or not),
 * and commands chdir there first, as Postfix's clients do.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util/alloc.h"
#include "lib/util/msg.h"
#include "lib/util/sock.h"
#include "lib/util/str.h"
#include "lib/util/stream.h"
#include "lib/mail/attr.h"
#include "lib/mail/params.h"
#include "lib/mail/tr_clnt.h"

static struct stream *tr_stream;
static struct attr_list *tr_req, *tr_rep;

static void
tr_disconnect(void)
{
	tr_stream = stream_close(tr_stream);
}

/* Connect and check the greeting; 0 or -1 (logged). */
static int
tr_connect(void)
{
	struct str *path = str_new(64), *why = str_new(64);
	int fd, rc = -1;

	str_fmt(path, "private/%s", var_rewrite_service_name);
	if ((fd = sock_unix_connect(str_ptr(path), var_ipc_timeout * 1000,
		 why)) < 0) {
		msg_warn("connect to %s: %s", str_ptr(path), str_ptr(why));
		goto out;
	}
	tr_stream = stream_open(fd);
	stream_set_timeout(tr_stream, var_ipc_timeout * 1000);
	if (attr_read(tr_stream, tr_rep, TR_VALUE_MAX) < 0) {
		msg_warn("problem talking to service %s: %m",
		    var_rewrite_service_name);
		tr_disconnect();
		goto out;
	}
	if (!attr_expect(tr_rep, "protocol", REWRITE_PROTOCOL)) {
		msg_warn("unexpected server protocol type: %s",
		    attr_get(tr_rep, "protocol") ? attr_get(tr_rep, "protocol")
						 : "(none)");
		tr_disconnect();
		goto out;
	}
	rc = 0;
out:
	str_free(path);
	str_free(why);
	return rc;
}

/*
 * Send tr_req and read tr_rep.  A connection that broke since the last
 * request (trivial-rewrite exited after max_idle or max_use) is replaced
 * once.
 */
static int
tr_request(void)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		if (tr_stream == NULL && tr_connect() < 0)
			return -1;
		errno = 0;
		if (attr_write(tr_stream, tr_req) == 0 &&
		    attr_read(tr_stream, tr_rep, TR_VALUE_MAX) == 0)
			return 0;
		if (attempt > 0)
			msg_warn("problem talking to service %s: %s",
			    var_rewrite_service_name,
			    errno ? strerror(errno) : "lost connection");
		tr_disconnect();
	}
	return -1;
}

static void
tr_init(void)
{
	if (tr_req == NULL) {
		tr_req = attr_new();
		tr_rep = attr_new();
	}
	attr_reset(tr_req);
}

int
rewrite_addr(const char *rule, const char *addr, struct str *result)
{
	const char *value;

	tr_init();
	attr_put(tr_req, "request", "rewrite");
	attr_put(tr_req, "rule", rule);
	attr_put(tr_req, "address", addr);
	if (tr_request() < 0)
		return -1;
	if ((value = attr_get(tr_rep, "address")) == NULL) {
		msg_warn("problem talking to service %s: no address in reply",
		    var_rewrite_service_name);
		tr_disconnect();
		return -1;
	}
	str_set(result, value);
	if (msg_verbose)
		msg_info("rewrite_addr: %s: %s -> %s", rule, addr, value);
	return 0;
}

int
resolve_addr(const char *sender, const char *addr, struct resolve_reply *r)
{
	const char *transport, *nexthop, *recipient;
	long flags;

	tr_init();
	attr_put(tr_req, "request", "resolve");
	attr_put(tr_req, "sender", sender != NULL ? sender : "");
	attr_put(tr_req, "address", addr);
	if (tr_request() < 0)
		return -1;
	transport = attr_get(tr_rep, "transport");
	nexthop = attr_get(tr_rep, "nexthop");
	recipient = attr_get(tr_rep, "recipient");
	if (attr_get_long(tr_rep, "flags", &flags) < 0 || transport == NULL ||
	    nexthop == NULL || recipient == NULL) {
		msg_warn("problem talking to service %s: malformed reply",
		    var_rewrite_service_name);
		tr_disconnect();
		return -1;
	}
	r->flags = (int)flags;
	str_set(r->transport, transport);
	str_set(r->nexthop, nexthop);
	str_set(r->recipient, recipient);
	if (msg_verbose)
		msg_info("resolve_addr: %s -> (%s:%s) %s flags=%d", addr,
		    transport, nexthop, recipient, r->flags);
	return 0;
}

struct resolve_reply *
resolve_reply_new(void)
{
	struct resolve_reply *r = xcalloc(1, sizeof(*r));

	r->transport = str_new(16);
	r->nexthop = str_new(64);
	r->recipient = str_new(64);
	return r;
}

struct resolve_reply *
resolve_reply_free(struct resolve_reply *r)
{
	if (r == NULL)
		return NULL;
	str_free(r->transport);
	str_free(r->nexthop);
	str_free(r->recipient);
	free(r);
	return NULL;
}
