/*
 * tr_clnt - rewrite and resolve requests to trivial-rewrite over one
 * kept-open connection to private/$rewrite_service_name.
 *
 * The path is relative: daemons run in queue_directory (chrooted or not),
 * and commands chdir there first, as Postfix's clients do.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

/*
 * One-entry caches, as Postfix's clients keep: a process that asks the same
 * question again within TR_CACHE_TIME seconds (qmgr and local for every
 * message to one recipient, cleanup for every message from one sender)
 * gets the last answer without a round trip.  Only complete answers are
 * kept, never a failure.
 */
#define TR_CACHE_TIME 30

struct tr_cache {
	time_t expire;
	struct str *k1, *k2;      /* rule or sender, address */
	struct str *v1, *v2, *v3; /* address; transport, nexthop, recipient */
	int flags;
};

static struct tr_cache rw_cache, rs_cache;

static bool
tr_cache_hit(struct tr_cache *c, const char *k1, const char *k2)
{
	return c->k1 != NULL && *k2 != 0 && time(NULL) < c->expire &&
	    strcmp(str_ptr(c->k1), k1) == 0 && strcmp(str_ptr(c->k2), k2) == 0;
}

static void
tr_cache_keep(struct tr_cache *c, const char *k1, const char *k2)
{
	if (c->k1 == NULL) {
		c->k1 = str_new(32);
		c->k2 = str_new(64);
		c->v1 = str_new(64);
		c->v2 = str_new(16);
		c->v3 = str_new(64);
	}
	str_set(c->k1, k1);
	str_set(c->k2, k2);
	c->expire = time(NULL) + TR_CACHE_TIME;
}

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

	if (tr_cache_hit(&rw_cache, rule, addr)) {
		str_set(result, str_ptr(rw_cache.v1));
		return 0;
	}
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
	tr_cache_keep(&rw_cache, rule, addr);
	str_set(rw_cache.v1, value);
	if (msg_verbose)
		msg_info("rewrite_addr: %s: %s -> %s", rule, addr, value);
	return 0;
}

int
resolve_addr(const char *sender, const char *addr, struct resolve_reply *r)
{
	const char *transport, *nexthop, *recipient;
	long flags;

	if (sender == NULL)
		sender = "";
	if (tr_cache_hit(&rs_cache, sender, addr)) {
		r->flags = rs_cache.flags;
		str_set(r->transport, str_ptr(rs_cache.v1));
		str_set(r->nexthop, str_ptr(rs_cache.v2));
		str_set(r->recipient, str_ptr(rs_cache.v3));
		return 0;
	}
	tr_init();
	attr_put(tr_req, "request", "resolve");
	attr_put(tr_req, "sender", sender);
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
	if (!(r->flags & RESOLVE_FLAG_FAIL)) {
		tr_cache_keep(&rs_cache, sender, addr);
		rs_cache.flags = r->flags;
		str_set(rs_cache.v1, transport);
		str_set(rs_cache.v2, nexthop);
		str_set(rs_cache.v3, recipient);
	}
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
