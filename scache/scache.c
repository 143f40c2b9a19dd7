/*
 * scache - the shared connection cache (Postfix's scache(8)): keeps idle
 * connected sockets that smtp and lmtp processes hand over after a
 * delivery, so that the next delivery to the same place, in any process,
 * skips connect, greeting, EHLO and the rest.
 * Runs as mail_owner under master, one process (maxproc 1: the cache lives
 * in its memory), many clients on the event loop, chroot allowed; listens
 * on private/scache (connection_cache_service_name).  Never talks to the
 * network or to users; its clients are trusted delivery agents.
 * Talks attr lists plus passed descriptors (lib/mail/scache_clnt.h):
 * save_endp, find_endp, save_dest, find_dest.  A malformed request (no
 * request, a missing or over-long value, a bad ttl, a save_endp without
 * a descriptor) ends that client's connection.
 *
 * What is kept (as Postfix): endpoints (a physical server, e.g.
 * "smtp:192.0.2.1:25" plus properties) each with zero or more idle
 * connections, and logical destinations (e.g. "smtp:example.com:25")
 * each bound to one endpoint label.  Everything lives at most its ttl,
 * which is capped at connection_cache_ttl_limit; an expired connection is
 * just closed (no QUIT: the server does not know the protocol).  A find
 * takes the connection out of the cache: a connection is used by one
 * client at a time.  At most SCACHE_SESS_MAX connections are kept; a save
 * beyond that is refused and the descriptor closed.
 *
 * Every connection_cache_status_update_time, when there was activity,
 * and at exit, it logs Postfix's lines:
 *   statistics: start interval Dec  4 20:43:30
 *   statistics: domain lookup hits=2 miss=1 success=66%
 *   statistics: address lookup hits=0 miss=1 success=0%
 *   statistics: max simultaneous domains=1 addresses=1 connection=1
 * and exits when no client has been connected for max_idle seconds.
 */
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/util/alloc.h"
#include "lib/util/event.h"
#include "lib/util/htable.h"
#include "lib/util/msg.h"
#include "lib/util/str.h"
#include "lib/util/stream.h"
#include "lib/mail/attr.h"
#include "lib/mail/daemon.h"
#include "lib/mail/params.h"
#include "lib/mail/scache_clnt.h"

#define SCACHE_SESS_MAX 1000 /* cached descriptors, all endpoints */

struct scache_endp;

/* One idle connection. */
struct scache_sess {
	struct scache_endp *endp;
	int fd;
	char *prop;
	struct scache_sess *prev, *next; /* the endpoint's list, newest first */
};

/* One endpoint and its idle connections. */
struct scache_endp {
	char *label;
	struct scache_sess *head;
	int count;
};

/* One logical destination. */
struct scache_dest {
	char *label;
	char *prop;
	char *endp_label;
};

static struct htable *scache_endps; /* label -> struct scache_endp */
static struct htable *scache_dests; /* label -> struct scache_dest */
static struct attr_list *scache_req, *scache_rep;
static int scache_sess_count;

/* Statistics since the start of the interval. */
static time_t scache_start;
static int dest_hits, dest_miss, endp_hits, endp_miss;
static int max_dests, max_endps, max_sess;

static void
scache_max_update(void)
{
	if ((int)htable_count(scache_dests) > max_dests)
		max_dests = (int)htable_count(scache_dests);
	if ((int)htable_count(scache_endps) > max_endps)
		max_endps = (int)htable_count(scache_endps);
	if (scache_sess_count > max_sess)
		max_sess = scache_sess_count;
}

static void
scache_lookup_log(const char *what, int hits, int miss)
{
	if (hits == 0 && miss == 0)
		return;
	msg_info("statistics: %s lookup hits=%d miss=%d success=%d%%", what,
	    hits, miss, (int)(hits * 100LL / (hits + miss)));
}

/* Log the interval's figures when there were any; start a new interval. */
static void
scache_status_dump(void)
{
	char when[32];
	struct tm tm;

	if (dest_hits || dest_miss || endp_hits || endp_miss || max_dests ||
	    max_endps || max_sess) {
		/* Postfix's "%.15s" of ctime(): "Dec  4 20:43:30". */
		if (localtime_r(&scache_start, &tm) == NULL ||
		    strftime(when, sizeof(when), "%b %e %H:%M:%S", &tm) == 0)
			when[0] = 0;
		msg_info("statistics: start interval %s", when);
		scache_lookup_log("domain", dest_hits, dest_miss);
		scache_lookup_log("address", endp_hits, endp_miss);
		if (max_dests || max_endps || max_sess)
			msg_info("statistics: max simultaneous domains=%d "
				 "addresses=%d connection=%d",
			    max_dests, max_endps, max_sess);
	}
	dest_hits = dest_miss = endp_hits = endp_miss = 0;
	max_dests = (int)htable_count(scache_dests);
	max_endps = (int)htable_count(scache_endps);
	max_sess = scache_sess_count;
	scache_start = time(NULL);
}

static int
scache_ms(long long seconds)
{
	return seconds > INT_MAX / 1000 ? INT_MAX : (int)(seconds * 1000);
}

static void
scache_status_timer(int ev, void *ctx)
{
	(void)ev;
	scache_status_dump();
	event_timer(scache_status_timer, ctx,
	    scache_ms(var_connection_cache_status_update_time));
}

static void scache_sess_expire(int, void *);

/* Unlink a connection; its endpoint goes when it has none left. */
static void
scache_sess_unlink(struct scache_sess *s)
{
	struct scache_endp *e = s->endp;

	event_cancel(scache_sess_expire, s);
	if (s->prev)
		s->prev->next = s->next;
	else
		e->head = s->next;
	if (s->next)
		s->next->prev = s->prev;
	e->count--;
	scache_sess_count--;
	if (e->count == 0) {
		(void)htable_delete(scache_endps, e->label, NULL);
		free(e->label);
		free(e);
	}
}

static void
scache_sess_expire(int ev, void *ctx)
{
	struct scache_sess *s = ctx;

	(void)ev;
	if (msg_verbose)
		msg_info("expire connection fd %d for %s", s->fd,
		    s->endp->label);
	(void)close(s->fd);
	scache_sess_unlink(s);
	free(s->prop);
	free(s);
}

/* Take the newest connection of an endpoint: the session, or NULL. */
static struct scache_sess *
scache_endp_take(const char *label)
{
	struct scache_endp *e = htable_find(scache_endps, label);
	struct scache_sess *s;

	if (e == NULL || (s = e->head) == NULL)
		return NULL;
	scache_sess_unlink(s);
	return s;
}

static void
scache_dest_expire(int ev, void *ctx)
{
	struct scache_dest *d = ctx;

	(void)ev;
	if (msg_verbose)
		msg_info("expire destination %s -> %s", d->label,
		    d->endp_label);
	(void)htable_delete(scache_dests, d->label, NULL);
	free(d->label);
	free(d->prop);
	free(d->endp_label);
	free(d);
}

/* The ttl of a save request, capped: seconds, or -1 when malformed. */
static int
scache_ttl(void)
{
	long ttl;

	if (attr_get_long(scache_req, "ttl", &ttl) < 0 || ttl <= 0)
		return -1;
	if (ttl > var_connection_cache_ttl_limit)
		ttl = var_connection_cache_ttl_limit;
	return (int)ttl;
}

static int
scache_save_endp(int fd)
{
	const char *label = attr_get(scache_req, "label");
	const char *prop = attr_get(scache_req, "prop");
	struct scache_endp *e;
	struct scache_sess *s;
	int ttl = scache_ttl();

	if (label == NULL || prop == NULL || ttl < 0 || fd < 0) {
		msg_warn("malformed save_endp request");
		return -1;
	}
	if (scache_sess_count >= SCACHE_SESS_MAX) {
		msg_warn("cache full: %d connections; not saving %s",
		    SCACHE_SESS_MAX, label);
		(void)close(fd);
		attr_put_long(scache_rep, "status", SCACHE_STAT_FAIL);
		return 0;
	}
	if ((e = htable_find(scache_endps, label)) == NULL) {
		e = xcalloc(1, sizeof(*e));
		e->label = xstrdup(label);
		(void)htable_enter(scache_endps, e->label, e);
	}
	s = xcalloc(1, sizeof(*s));
	s->endp = e;
	s->fd = fd;
	s->prop = xstrdup(prop);
	s->next = e->head;
	if (e->head)
		e->head->prev = s;
	e->head = s;
	e->count++;
	scache_sess_count++;
	event_timer(scache_sess_expire, s, scache_ms(ttl));
	scache_max_update();
	if (msg_verbose)
		msg_info("save_endp %s fd %d ttl %d", label, fd, ttl);
	attr_put_long(scache_rep, "status", SCACHE_STAT_OK);
	return 0;
}

static int
scache_save_dest(void)
{
	const char *label = attr_get(scache_req, "label");
	const char *prop = attr_get(scache_req, "prop");
	const char *endp = attr_get(scache_req, "endp_label");
	struct scache_dest *d;
	int ttl = scache_ttl();

	if (label == NULL || prop == NULL || endp == NULL || ttl < 0) {
		msg_warn("malformed save_dest request");
		return -1;
	}
	if ((d = htable_find(scache_dests, label)) == NULL) {
		d = xcalloc(1, sizeof(*d));
		d->label = xstrdup(label);
		(void)htable_enter(scache_dests, d->label, d);
	} else {
		free(d->prop);
		free(d->endp_label);
	}
	d->prop = xstrdup(prop);
	d->endp_label = xstrdup(endp);
	event_timer(scache_dest_expire, d, scache_ms(ttl));
	scache_max_update();
	if (msg_verbose)
		msg_info("save_dest %s -> %s ttl %d", label, endp, ttl);
	attr_put_long(scache_rep, "status", SCACHE_STAT_OK);
	return 0;
}

/* A find: the connection's descriptor for the reply, or -1 (a miss). */
static int
scache_find(bool dest, int *fdp)
{
	const char *label = attr_get(scache_req, "label");
	struct scache_dest *d = NULL;
	struct scache_sess *s = NULL;

	if (label == NULL) {
		msg_warn("malformed find request");
		return -1;
	}
	if (dest) {
		if ((d = htable_find(scache_dests, label)) != NULL)
			s = scache_endp_take(d->endp_label);
		if (s)
			dest_hits++;
		else
			dest_miss++;
	} else {
		if ((s = scache_endp_take(label)) != NULL)
			endp_hits++;
		else
			endp_miss++;
	}
	if (s == NULL) {
		attr_put_long(scache_rep, "status", SCACHE_STAT_FAIL);
		return 0;
	}
	attr_put_long(scache_rep, "status", SCACHE_STAT_OK);
	attr_put(scache_rep, "prop", s->prop);
	if (d)
		attr_put(scache_rep, "dest_prop", d->prop);
	if (msg_verbose)
		msg_info("%s %s: fd %d", dest ? "find_dest" : "find_endp",
		    label, s->fd);
	*fdp = s->fd;
	free(s->prop);
	free(s);
	return 0;
}

static int
scache_connect(struct stream *st, const char *service, char **argv)
{
	(void)service;
	(void)argv;
	attr_reset(scache_rep);
	attr_put(scache_rep, "protocol", SCACHE_PROTOCOL);
	return attr_write(st, scache_rep);
}

/* One request; -1 ends the connection (EOF, error, bad request). */
static int
scache_request(struct stream *st, const char *service, char **argv)
{
	const char *request;
	int fd = -1, rfd = -1, rc = -1;
	int ms = var_connection_cache_protocol_timeout * 1000;

	(void)service;
	(void)argv;
	/* The carrier byte must be read alone: nothing may be buffered. */
	if (stream_pending(st) > 0) {
		msg_warn("unexpected data before a request");
		return -1;
	}
	if (scache_fd_recv(stream_fd(st), ms, &fd) < 0)
		return -1;
	stream_set_timeout(st, ms);
	if (attr_read(st, scache_req, SCACHE_VALUE_MAX) < 0)
		goto out;
	attr_reset(scache_rep);
	if ((request = attr_get(scache_req, "request")) == NULL) {
		msg_warn("malformed request");
		goto out;
	}
	if (strcmp(request, "save_endp") == 0) {
		rc = scache_save_endp(fd);
		if (rc == 0)
			fd = -1; /* kept, or closed when full */
	} else if (fd >= 0) {
		msg_warn("unexpected descriptor with %s request", request);
		goto out;
	} else if (strcmp(request, "find_endp") == 0) {
		rc = scache_find(false, &rfd);
	} else if (strcmp(request, "find_dest") == 0) {
		rc = scache_find(true, &rfd);
	} else if (strcmp(request, "save_dest") == 0) {
		rc = scache_save_dest();
	} else {
		msg_warn("unrecognized request: \"%s\", ignored", request);
		rc = 0;
		attr_put_long(scache_rep, "status", SCACHE_STAT_FAIL);
	}
	if (rc < 0)
		goto out;
	if (scache_fd_send(stream_fd(st), rfd) < 0 ||
	    attr_write(st, scache_rep) < 0)
		rc = -1;
out:
	/* The client has its own copy of a connection passed to it. */
	if (rfd >= 0)
		(void)close(rfd);
	if (fd >= 0)
		(void)close(fd);
	return rc;
}

static void
scache_post_jail(const char *service, char **argv)
{
	(void)service;
	(void)argv;
	scache_endps = htable_new(100);
	scache_dests = htable_new(100);
	scache_req = attr_new();
	scache_rep = attr_new();
	scache_start = time(NULL);
	event_timer(scache_status_timer, NULL,
	    scache_ms(var_connection_cache_status_update_time));
}

int
main(int argc, char **argv)
{
	static const struct daemon_spec spec = {
		.kind = DAEMON_MULTI,
		.request = scache_request,
		.connect = scache_connect,
		.post_jail = scache_post_jail,
		.on_exit = scache_status_dump,
		.flags = DAEMON_SOLITARY | DAEMON_NO_USE_LIMIT,
	};

	return daemon_main(argc, argv, &spec);
}
