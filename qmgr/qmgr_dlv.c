/*
 * qmgr_dlv - group recipients by transport and next hop and deliver them
 * through private/<transport>, within each destination's concurrency
 * window and recipient limit.  A delivery that reports a deferral narrows
 * the window (down to 1), a success widens it (up to the limit); an agent
 * that cannot be reached or dies mid-request marks the destination dead
 * for the rest of the queue run, and its recipients are deferred (never
 * lost: whatever the agent did not cross off stays an R record).
 *
 * A destination is the next hop, except for a transport whose recipient
 * limit is 1 (local's default): as in Postfix, its destination is then the
 * recipient, "user@nexthop" in lower case without the address extension,
 * so the concurrency limit applies per user and deliveries to different
 * users run in parallel (bounded by the process limit).  A destination
 * with nothing waiting or in delivery is freed when it is not dead (a dead
 * one lives until the queue run ends), so the list does not grow with the
 * number of recipients ever seen.
 */
#include <sys/time.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/util/alloc.h"
#include "lib/util/argv.h"
#include "lib/util/event.h"
#include "lib/util/htable.h"
#include "lib/util/msg.h"
#include "lib/util/sock.h"
#include "lib/util/str.h"
#include "lib/util/stream.h"
#include "lib/mail/config.h"
#include "lib/mail/addr.h"
#include "lib/mail/deliver.h"
#include "lib/mail/maps.h"
#include "lib/mail/params.h"
#include "lib/mail/queue.h"
#include "lib/mail/record.h"
#include "lib/mail/tr_clnt.h"
#include "qmgr/qmgr.h"

struct qtransport {
	char *name;
	int conc_limit; /* <transport>_destination_concurrency_limit */
	int rcpt_limit; /* <transport>_destination_recipient_limit */
	int active;     /* deliveries in progress, all destinations */
	bool dead;
	struct str *dead_reason;
	struct htable *dests; /* queue name -> struct qdest */
	struct qtransport *next;
};

struct qentry;

struct qdest {
	struct qtransport *tp;
	char *name; /* next hop, or user@nexthop (recipient limit 1) */
	int window; /* current concurrency limit */
	int active;
	bool dead;
	struct str *dead_reason;
	struct qentry *head, *tail; /* waiting entries */
	bool conn_cache;            /* agents were asked to keep connections */
	struct qdest *prev, *next;
};

struct qentry {
	struct qmgr_msg *m;
	struct qdest *d;
	struct deliver_request *req;
	struct stream *st;
	struct qentry *next;
};

static struct qtransport *transports;
static struct qdest *dests;
static int in_flight;

/* A positive integer parameter, per transport when it is set. */
static int
transport_int(const char *tp, const char *suffix, int def)
{
	struct str *name = str_new(0), *val = str_new(0), *why = str_new(0);
	int ret = def;

	str_fmt(name, "%s_%s", tp, suffix);
	if (config_raw(str_ptr(name)) != NULL &&
	    config_eval(str_ptr(name), val, why) == 0) {
		char *end;
		long n = strtol(str_ptr(val), &end, 10);

		if (str_len(val) > 0 && *end == 0 && n > 0 && n <= INT_MAX)
			ret = (int)n;
		else
			msg_warn("bad %s value: %s", str_ptr(name),
			    str_ptr(val));
	}
	str_free(name);
	str_free(val);
	str_free(why);
	return ret;
}

static struct qtransport *
transport_find(const char *name)
{
	struct qtransport *tp;

	for (tp = transports; tp; tp = tp->next)
		if (strcmp(tp->name, name) == 0)
			return tp;
	tp = xcalloc(1, sizeof(*tp));
	tp->name = xstrdup(name);
	tp->conc_limit = transport_int(name, "destination_concurrency_limit",
	    var_default_destination_concurrency_limit);
	tp->rcpt_limit = transport_int(name, "destination_recipient_limit",
	    var_default_destination_recipient_limit);
	tp->dead_reason = str_new(0);
	tp->dests = htable_new(64);
	tp->next = transports;
	transports = tp;
	return tp;
}

/* The queue name of a recipient of tp resolved to nexthop. */
static void
dest_name(struct str *name, const struct qtransport *tp, const char *rcpt,
    const char *nexthop)
{
	char *local, *domain, *user, *ext = NULL;

	if (tp->rcpt_limit != 1) {
		str_set(name, nexthop);
		return;
	}
	addr_split(rcpt, &local, &domain);
	user = maps_split_ext(local, var_recipient_delimiter, &ext);
	str_fmt(name, "%s@%s", user ? user : local, nexthop);
	str_lower(name);
	free(user);
	free(ext);
	free(local);
	free(domain);
}

static struct qdest *
dest_find(struct qtransport *tp, const char *name)
{
	struct qdest *d = htable_find(tp->dests, name);

	if (d != NULL)
		return d;
	d = xcalloc(1, sizeof(*d));
	d->tp = tp;
	d->name = xstrdup(name);
	d->window = var_initial_destination_concurrency < tp->conc_limit
			? var_initial_destination_concurrency
			: tp->conc_limit;
	d->dead_reason = str_new(0);
	d->next = dests;
	if (dests != NULL)
		dests->prev = d;
	dests = d;
	(void)htable_enter(tp->dests, d->name, d);
	return d;
}

/* Free d when nothing waits for it, none is in delivery, it is not dead. */
static void
dest_release(struct qdest *d)
{
	if (d->head != NULL || d->active > 0 || d->dead)
		return;
	(void)htable_delete(d->tp->dests, d->name, NULL);
	if (d->prev != NULL)
		d->prev->next = d->next;
	else
		dests = d->next;
	if (d->next != NULL)
		d->next->prev = d->prev;
	str_free(d->dead_reason);
	free(d->name);
	free(d);
}

void
qmgr_dlv_forget(void)
{
	struct qdest *next;

	for (struct qdest *d = dests; d; d = next) {
		next = d->next;
		d->dead = false;
		dest_release(d);
	}
	for (struct qtransport *tp = transports; tp; tp = tp->next)
		tp->dead = false;
}

bool
qmgr_dlv_idle(void)
{
	return in_flight == 0;
}

/* A request for m with the envelope of m->info and no recipients. */
static struct deliver_request *
request_for(const struct qmgr_msg *m, const char *nexthop)
{
	const struct deliver_request *s = m->info;
	struct deliver_request *r = deliver_request_new();

	r->flags = s->flags;
	str_set(r->queue_name, str_ptr(s->queue_name));
	str_set(r->queue_id, str_ptr(s->queue_id));
	r->data_offset = s->data_offset;
	r->data_size = s->data_size;
	str_set(r->nexthop, nexthop);
	str_set(r->encoding, str_ptr(s->encoding));
	r->sendopts = s->sendopts;
	str_set(r->sender, str_ptr(s->sender));
	str_set(r->envid, str_ptr(s->envid));
	r->ret = s->ret;
	r->arrival = s->arrival;
	r->active = s->active;
	str_set(r->client_name, str_ptr(s->client_name));
	str_set(r->client_addr, str_ptr(s->client_addr));
	str_set(r->client_port, str_ptr(s->client_port));
	str_set(r->protocol_name, str_ptr(s->protocol_name));
	str_set(r->helo_name, str_ptr(s->helo_name));
	str_set(r->sasl_method, str_ptr(s->sasl_method));
	str_set(r->sasl_username, str_ptr(s->sasl_username));
	str_set(r->sasl_sender, str_ptr(s->sasl_sender));
	str_set(r->log_ident, str_ptr(s->queue_id));
	str_set(r->rewrite_context, str_ptr(s->rewrite_context));
	gettimeofday(&r->handoff, NULL);
	return r;
}

/* qmgr's own verdict on one recipient (deferred, bounced), logged and
 * recorded the way an agent records it. */
static void
self_result(const struct qmgr_msg *m, const struct qmgr_rcpt *r, bool bounce,
    const char *dsn, const char *text)
{
	struct deliver_request *req = request_for(m, "");
	struct deliver_rcpt *dr = deliver_rcpt_add(req, r->orig, r->addr,
	    r->offset, r->dsn_orcpt, r->notify);

	if (bounce)
		(void)deliver_bounce(req, dr, "none", dsn, "%s", text);
	else
		(void)deliver_defer(req, dr, "none", dsn, "%s", text);
	deliver_request_free(req);
}

/* Defer what is still an R record in the queue file. */
static void
defer_entry(struct qentry *e, const char *dsn, const char *text)
{
	struct str *path = str_new(0);
	int fd;

	queue_path(path, QUEUE_ACTIVE, e->m->id);
	fd = open(str_ptr(path), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	gettimeofday(&e->req->handoff, NULL);
	for (size_t i = 0; i < e->req->rcpt_count; i++) {
		struct deliver_rcpt *r = &e->req->rcpt[i];
		unsigned char c = REC_TYPE_RCPT;

		if (fd >= 0 && pread(fd, &c, 1, r->offset) == 1 &&
		    c != REC_TYPE_RCPT)
			continue;
		(void)deliver_defer(e->req, r, "none", dsn, "%s", text);
	}
	if (fd >= 0)
		close(fd);
	str_free(path);
}

static void dispatch(int, void *);

static void
schedule(void)
{
	event_timer(dispatch, NULL, 0);
}

static bool dispatching; /* inside dispatch(): do not enter it again */

/*
 * An entry is over.  After a delivery the next one starts first, and the
 * finished message's bookkeeping (its log, the queue file's removal) runs
 * while the agent accepts the connection and greets: with one delivery
 * at a time (local_destination_concurrency_limit = 1) that bookkeeping is
 * otherwise part of every delivery's cycle.
 */
static void
entry_done(struct qentry *e, bool running)
{
	struct qmgr_msg *m = e->m;
	bool last;

	if (running) {
		e->d->active--;
		e->d->tp->active--;
		in_flight--;
	}
	if (e->st) {
		event_remove(stream_fd(e->st));
		stream_close(e->st);
	}
	deliver_request_free(e->req);
	free(e);
	/*
	 * Whether this was m's last entry is known before dispatch(): when
	 * it was not, dispatch() may end m's other entries (a dead
	 * destination) and m with them, so m is not looked at again.
	 */
	last = --m->pending == 0;
	if (running && !dispatching)
		dispatch(0, NULL);
	else
		schedule();
	if (last)
		qmgr_msg_done(m);
}

static void
mark_dead(struct qdest *d, const char *why)
{
	d->dead = true;
	str_set(d->dead_reason, why);
}

static void
on_reply(int ev, void *ctx)
{
	struct qentry *e = ctx;
	struct str *why = str_new(0);
	int status;

	(void)ev;
	if (deliver_reply_read(e->st, &status, why) < 0) {
		msg_warn("%s: %s (transport %s)", e->m->id, str_ptr(why),
		    e->d->tp->name);
		defer_entry(e, "4.3.0", "unknown mail transport error");
		mark_dead(e->d, "unknown mail transport error");
	} else if (status != 0) {
		if (e->d->window > 1)
			e->d->window--;
	} else if (e->d->window < e->d->tp->conc_limit) {
		e->d->window++;
	}
	str_free(why);
	entry_done(e, true);
}

static void
on_greeting(int ev, void *ctx)
{
	struct qentry *e = ctx;
	struct str *why = str_new(0);

	(void)ev;
	if (deliver_request_send(e->st, e->req, why) < 0) {
		msg_warn("%s: %s (transport %s)", e->m->id, str_ptr(why),
		    e->d->tp->name);
		defer_entry(e, "4.3.0", "unknown mail transport error");
		mark_dead(e->d, "unknown mail transport error");
		str_free(why);
		entry_done(e, true);
		return;
	}
	str_free(why);
	event_read(stream_fd(e->st), on_reply, e);
}

static void
start(struct qentry *e)
{
	struct str *path = str_new(0), *why = str_new(0);
	int fd;

	e->d->active++;
	e->d->tp->active++;
	in_flight++;
	str_fmt(path, "private/%s", e->d->tp->name);
	fd = sock_unix_connect(str_ptr(path), 10000, why);
	if (fd < 0) {
		msg_warn("connect to transport %s: %s", str_ptr(path),
		    str_ptr(why));
		e->d->tp->dead = true;
		str_set(e->d->tp->dead_reason, "mail transport unavailable");
		defer_entry(e, "4.3.0", "mail transport unavailable");
		entry_done(e, true);
	} else {
		e->st = stream_open(fd);
		stream_set_timeout(e->st, var_ipc_timeout * 1000);
		event_read(fd, on_greeting, e);
	}
	str_free(path);
	str_free(why);
}

/* Start what the windows allow; defer what waits for a dead one. */
static void
dispatch(int ev, void *ctx)
{
	(void)ev;
	(void)ctx;
	dispatching = true;
	for (struct qdest *d = dests, *next; d; d = next) {
		next = d->next;
		while (d->head != NULL) {
			struct qentry *e = d->head;
			bool dead = d->dead || d->tp->dead;

			if (!dead &&
			    (d->active >= d->window ||
				d->tp->active >= var_default_process_limit))
				break;
			d->head = e->next;
			if (d->head == NULL)
				d->tail = NULL;
			e->next = NULL;
			if (dead) {
				struct str *text = str_new(0);

				str_fmt(text,
				    "delivery temporarily suspended: %s",
				    str_ptr(d->dead ? d->dead_reason
						    : d->tp->dead_reason));
				defer_entry(e, "4.3.0", str_ptr(text));
				str_free(text);
				entry_done(e, false);
			} else {
				/*
				 * Postfix's on-demand connection caching: with
				 * more mail waiting the agent keeps its
				 * connection for the next delivery; once asked,
				 * later agents look for one until it drains.
				 */
				if (d->head != NULL) {
					e->req->flags |=
					    DELIVER_FLAG_CONN_STORE |
					    DELIVER_FLAG_CONN_FETCH;
					d->conn_cache = true;
				} else if (d->conn_cache) {
					e->req->flags |=
					    DELIVER_FLAG_CONN_FETCH;
				}
				start(e);
			}
		}
		dest_release(d);
	}
	dispatching = false;
}

static bool
transport_ok(const char *name)
{
	if (*name == 0 || strlen(name) > 100)
		return false;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			(*p >= '0' && *p <= '9') || *p == '-' || *p == '_' ||
			*p == '.'))
			return false;
	return name[0] != '.';
}

static bool
transport_deferred(const char *name)
{
	struct argv *list = argv_split(var_defer_transports, ", \t\r\n");
	bool found = false;

	for (size_t i = 0; i < list->argc; i++)
		if (strcmp(list->argv[i], name) == 0)
			found = true;
	argv_free(list);
	return found;
}

void
qmgr_dlv_add(struct qmgr_msg *m)
{
	struct resolve_reply *rr = resolve_reply_new();
	struct str *name = str_new(0);
	struct qentry **cur = NULL; /* this message's open entry per dest */
	struct qdest **cur_dest = NULL;
	size_t ncur = 0;

	for (size_t i = 0; i < m->rcpt_count; i++) {
		struct qmgr_rcpt *r = &m->rcpt[i];
		struct qtransport *tp;
		struct qdest *d;
		struct qentry *e = NULL;
		size_t j;

		if (resolve_addr(str_ptr(m->info->sender), r->addr, rr) < 0 ||
		    (rr->flags & RESOLVE_FLAG_FAIL)) {
			self_result(m, r, false, "4.3.0",
			    "address resolver failure");
			continue;
		}
		if (rr->flags & RESOLVE_FLAG_ERROR) {
			self_result(m, r, true, "5.1.3", "bad address syntax");
			continue;
		}
		if (!transport_ok(str_ptr(rr->transport))) {
			self_result(m, r, false, "4.3.0",
			    "mail transport unavailable");
			continue;
		}
		if (transport_deferred(str_ptr(rr->transport))) {
			self_result(m, r, false, "4.3.2", "deferred transport");
			continue;
		}
		tp = transport_find(str_ptr(rr->transport));
		dest_name(name, tp, str_ptr(rr->recipient),
		    str_ptr(rr->nexthop));
		d = dest_find(tp, str_ptr(name));
		for (j = 0; j < ncur; j++)
			if (cur_dest[j] == d)
				break;
		if (j < ncur &&
		    cur[j]->req->rcpt_count < (size_t)tp->rcpt_limit)
			e = cur[j];
		if (e == NULL) {
			e = xcalloc(1, sizeof(*e));
			e->m = m;
			e->d = d;
			e->req = request_for(m, str_ptr(rr->nexthop));
			if (d->tail)
				d->tail->next = e;
			else
				d->head = e;
			d->tail = e;
			m->pending++;
			if (j == ncur) {
				cur =
				    xreallocarray(cur, ncur + 1, sizeof(*cur));
				cur_dest = xreallocarray(cur_dest, ncur + 1,
				    sizeof(*cur_dest));
				ncur++;
			}
			cur[j] = e;
			cur_dest[j] = d;
		}
		deliver_rcpt_add(e->req, r->orig, r->addr, r->offset,
		    r->dsn_orcpt, r->notify);
	}
	free(cur);
	free(cur_dest);
	resolve_reply_free(rr);
	str_free(name);
	schedule();
}
