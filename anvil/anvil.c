/*
 * anvil - count connections and events per client for smtpd's limits
 * (Postfix's anvil(8)).
 * Runs as mail_owner under master, one process (maxproc 1: the counters
 * live in its memory), many clients on the event loop, chroot allowed;
 * listens on private/anvil.  No max_use; max_idle is at least
 * anvil_rate_time_unit, so a window is not forgotten early.
 * Reads anvil_rate_time_unit and anvil_status_update_time.
 * Talks to smtpd with attr lists (lib/mail/anvil_clnt.h): greets with
 * protocol=anvil_protocol, then answers connect, disconnect, message,
 * recipient, newtls, newtls_report, auth and lookup for an ident
 * "service:address".  An unknown request gets status=fail (as Postfix); a
 * malformed one (no request or ident, a value over ANVIL_VALUE_MAX) ends
 * the connection.
 *
 * Counting follows Postfix: each ident has the number of connections open
 * now and, per window of anvil_rate_time_unit starting at its first event,
 * the number of connections, messages, recipients, new TLS sessions and
 * AUTH commands.  When a client connection to anvil closes (smtpd exited or
 * crashed), its open connections are disconnected.  An ident without open
 * connections is forgotten anvil_rate_time_unit after it became idle.
 *
 * Memory is bounded by ANVIL_CLIENT_MAX idents: when the table is full the
 * longest-idle ident is forgotten early; when every ident has open
 * connections (ANVIL_CLIENT_MAX simultaneous SMTP clients) a request for a
 * new one gets status=fail and smtpd does not limit that client.
 *
 * Every anvil_status_update_time and at exit the peaks since the last
 * report are logged as Postfix does ("statistics: max connection rate
 * 7/60s for (smtp:192.0.2.1) at Dec  4 19:52:09", ... "statistics: max
 * cache size 1 at ...").
 */
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/util/alloc.h"
#include "lib/util/event.h"
#include "lib/util/htable.h"
#include "lib/util/msg.h"
#include "lib/util/str.h"
#include "lib/util/stream.h"
#include "lib/mail/anvil_clnt.h"
#include "lib/mail/attr.h"
#include "lib/mail/daemon.h"
#include "lib/mail/params.h"

#define ANVIL_CLIENT_MAX 100000 /* idents in the table */

/* One ident ("service:address"). */
struct anvil_remote {
	char *ident;
	int count;       /* open connections */
	int rate;        /* connections in this window */
	int mail;        /* MAIL in this window */
	int rcpt;        /* RCPT in this window */
	int ntls;        /* new TLS sessions in this window */
	int auth;        /* AUTH in this window */
	long long start; /* window start (monotonic ms), 0: none yet */
	long long idle;  /* when count dropped to 0 (monotonic ms) */
	struct anvil_remote *prev, *next; /* idle list, when count == 0 */
};

/* One client of anvil (an smtpd process) and the connections it opened. */
struct anvil_local {
	struct htable *open; /* ident -> (intptr_t) connections */
};

/* A peak for the statistics lines. */
struct anvil_max {
	int value;
	char *ident;
	time_t when;
};

static struct htable *anvil_remotes; /* ident -> struct anvil_remote */
static struct htable *anvil_locals;  /* stream address -> anvil_local */
static struct anvil_remote *anvil_idle_head, *anvil_idle_tail;
static struct attr_list *anvil_req, *anvil_rep;

static struct anvil_max max_conn_rate, max_conn_count, max_mail_rate,
    max_rcpt_rate, max_ntls_rate, max_auth_rate;
static int max_cache_size;
static time_t max_cache_time;

static long long
anvil_now(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
anvil_max_update(struct anvil_max *m, int value, const char *ident)
{
	if (value <= m->value)
		return;
	m->value = value;
	free(m->ident);
	m->ident = xstrdup(ident);
	m->when = time(NULL);
}

/* Postfix's "at Dec  4 19:52:09": ctime() without weekday and year. */
static const char *
anvil_when(time_t when, char *buf, size_t len)
{
	struct tm tm;

	if (localtime_r(&when, &tm) == NULL ||
	    strftime(buf, len, "%b %e %H:%M:%S", &tm) == 0)
		buf[0] = 0;
	return buf;
}

static void
anvil_max_log(struct anvil_max *m, const char *what, bool is_rate)
{
	char when[32];

	if (m->value == 0)
		return;
	anvil_when(m->when, when, sizeof(when));
	if (is_rate)
		msg_info("statistics: max %s %d/%ds for (%s) at %s", what,
		    m->value, var_anvil_rate_time_unit, m->ident, when);
	else
		msg_info("statistics: max %s %d for (%s) at %s", what, m->value,
		    m->ident, when);
	m->value = 0;
}

/* Log and reset the peaks since the last report, as Postfix does. */
static void
anvil_status_dump(void)
{
	char when[32];

	anvil_max_log(&max_conn_rate, "connection rate", true);
	anvil_max_log(&max_conn_count, "connection count", false);
	anvil_max_log(&max_mail_rate, "message rate", true);
	anvil_max_log(&max_rcpt_rate, "recipient rate", true);
	anvil_max_log(&max_ntls_rate, "newtls rate", true);
	anvil_max_log(&max_auth_rate, "auth rate", true);
	if (max_cache_size > 0) {
		msg_info("statistics: max cache size %d at %s", max_cache_size,
		    anvil_when(max_cache_time, when, sizeof(when)));
		max_cache_size = 0;
	}
}

/* Seconds to a timer's milliseconds, within the timer's range. */
static int
anvil_ms(long long seconds)
{
	return seconds > INT_MAX / 1000 ? INT_MAX : (int)(seconds * 1000);
}

static void
anvil_status_timer(int ev, void *ctx)
{
	(void)ev;
	anvil_status_dump();
	event_timer(anvil_status_timer, ctx,
	    anvil_ms(var_anvil_status_update_time));
}

static void
anvil_idle_unlink(struct anvil_remote *r)
{
	if (r->prev)
		r->prev->next = r->next;
	else
		anvil_idle_head = r->next;
	if (r->next)
		r->next->prev = r->prev;
	else
		anvil_idle_tail = r->prev;
	r->prev = r->next = NULL;
}

static void
anvil_remote_free(void *ptr)
{
	struct anvil_remote *r = ptr;

	free(r->ident);
	free(r);
}

/* Forget an idle ident (count 0: no local refers to it). */
static void
anvil_remote_drop(struct anvil_remote *r)
{
	anvil_idle_unlink(r);
	if (msg_verbose)
		msg_info("drop %s", r->ident);
	(void)htable_delete(anvil_remotes, r->ident, anvil_remote_free);
}

static void anvil_expire(int, void *);

/* Arm the expiry timer for the oldest idle ident, if any. */
static void
anvil_expire_arm(void)
{
	long long due;

	if (anvil_idle_head == NULL) {
		event_cancel(anvil_expire, NULL);
		return;
	}
	due = anvil_idle_head->idle + var_anvil_rate_time_unit * 1000LL -
	      anvil_now();
	event_timer(anvil_expire, NULL,
	    due < 0         ? 0
	    : due > INT_MAX ? INT_MAX
			    : (int)due);
}

/* Forget idents idle for anvil_rate_time_unit. */
static void
anvil_expire(int ev, void *ctx)
{
	long long now = anvil_now();

	(void)ev;
	(void)ctx;
	while (anvil_idle_head != NULL &&
	       anvil_idle_head->idle + var_anvil_rate_time_unit * 1000LL <= now)
		anvil_remote_drop(anvil_idle_head);
	anvil_expire_arm();
}

/* The ident became idle: it expires anvil_rate_time_unit from now. */
static void
anvil_idle_append(struct anvil_remote *r)
{
	r->idle = anvil_now();
	r->next = NULL;
	r->prev = anvil_idle_tail;
	if (anvil_idle_tail)
		anvil_idle_tail->next = r;
	else
		anvil_idle_head = r;
	anvil_idle_tail = r;
	if (anvil_idle_head == r)
		anvil_expire_arm();
}

/*
 * The ident's entry, created idle when absent; NULL when the table is
 * full of idents with open connections.
 */
static struct anvil_remote *
anvil_remote_get(const char *ident)
{
	struct anvil_remote *r;

	if ((r = htable_find(anvil_remotes, ident)) != NULL)
		return r;
	if (htable_count(anvil_remotes) >= ANVIL_CLIENT_MAX) {
		if (anvil_idle_head == NULL) {
			msg_warn("table full: %d clients with open "
				 "connections; not counting %s",
			    ANVIL_CLIENT_MAX, ident);
			return NULL;
		}
		anvil_remote_drop(anvil_idle_head);
		anvil_expire_arm();
	}
	r = xcalloc(1, sizeof(*r));
	r->ident = xstrdup(ident);
	(void)htable_enter(anvil_remotes, ident, r);
	anvil_idle_append(r);
	if ((int)htable_count(anvil_remotes) > max_cache_size) {
		max_cache_size = (int)htable_count(anvil_remotes);
		max_cache_time = time(NULL);
	}
	return r;
}

/* Start a new window when the current one has ended. */
static void
anvil_window(struct anvil_remote *r)
{
	long long now = anvil_now();

	if (r->start == 0 ||
	    r->start + var_anvil_rate_time_unit * 1000LL < now) {
		r->start = now;
		r->rate = r->mail = r->rcpt = r->ntls = r->auth = 0;
	}
}

static void
anvil_incr(int *counter)
{
	if (*counter < INT_MAX)
		*counter += 1;
}

static struct anvil_local *
anvil_local(struct stream *st, bool create)
{
	char key[32];
	struct anvil_local *l;

	(void)snprintf(key, sizeof(key), "%p", (void *)st);
	if ((l = htable_find(anvil_locals, key)) == NULL && create) {
		l = xcalloc(1, sizeof(*l));
		l->open = htable_new(4);
		(void)htable_enter(anvil_locals, key, l);
	}
	return l;
}

static int
anvil_do_connect(struct stream *st, const char *ident)
{
	struct anvil_remote *r;
	struct anvil_local *l;
	intptr_t n;

	if ((r = anvil_remote_get(ident)) == NULL)
		return -1;
	anvil_window(r);
	anvil_incr(&r->rate);
	if (r->count == 0)
		anvil_idle_unlink(r);
	anvil_incr(&r->count);
	l = anvil_local(st, true);
	n = (intptr_t)htable_find(l->open, ident);
	(void)htable_enter(l->open, ident, (void *)(n + 1));
	anvil_max_update(&max_conn_rate, r->rate, ident);
	anvil_max_update(&max_conn_count, r->count, ident);
	attr_put_long(anvil_rep, "count", r->count);
	attr_put_long(anvil_rep, "rate", r->rate);
	return 0;
}

/* One connection of ident is gone. */
static void
anvil_remote_disconnect(const char *ident)
{
	struct anvil_remote *r = htable_find(anvil_remotes, ident);

	if (r == NULL || r->count == 0)
		return;
	if (--r->count == 0)
		anvil_idle_append(r);
}

/* A disconnect for a connection this client did not open is ignored. */
static int
anvil_do_disconnect(struct stream *st, const char *ident)
{
	struct anvil_local *l = anvil_local(st, false);
	intptr_t n;

	if (l == NULL || (n = (intptr_t)htable_find(l->open, ident)) == 0)
		return 0;
	if (n > 1)
		(void)htable_enter(l->open, ident, (void *)(n - 1));
	else
		(void)htable_delete(l->open, ident, NULL);
	anvil_remote_disconnect(ident);
	return 0;
}

/* Count one event of a kind; reply with its rate. */
static int
anvil_do_event(const char *ident, size_t offset, struct anvil_max *max)
{
	struct anvil_remote *r;
	int *counter;

	if ((r = anvil_remote_get(ident)) == NULL)
		return -1;
	anvil_window(r);
	counter = (int *)((char *)r + offset);
	anvil_incr(counter);
	anvil_max_update(max, *counter, ident);
	attr_put_long(anvil_rep, "rate", *counter);
	return 0;
}

/* The new-TLS rate without counting (STARTTLS may be refused on it). */
static int
anvil_do_newtls_report(const char *ident)
{
	struct anvil_remote *r = htable_find(anvil_remotes, ident);
	int rate = 0;

	if (r != NULL && r->start != 0 &&
	    r->start + var_anvil_rate_time_unit * 1000LL >= anvil_now())
		rate = r->ntls;
	attr_put_long(anvil_rep, "rate", rate);
	return 0;
}

static int
anvil_do_lookup(const char *ident)
{
	struct anvil_remote *r = htable_find(anvil_remotes, ident);
	struct anvil_remote none;

	if (r == NULL) {
		memset(&none, 0, sizeof(none));
		r = &none;
	} else if (r->start + var_anvil_rate_time_unit * 1000LL < anvil_now()) {
		none = *r;
		none.rate = none.mail = none.rcpt = none.ntls = none.auth = 0;
		r = &none;
	}
	attr_put_long(anvil_rep, "count", r->count);
	attr_put_long(anvil_rep, "rate", r->rate);
	attr_put_long(anvil_rep, "mail", r->mail);
	attr_put_long(anvil_rep, "rcpt", r->rcpt);
	attr_put_long(anvil_rep, "newtls", r->ntls);
	attr_put_long(anvil_rep, "auth", r->auth);
	return 0;
}

/* The client's connection closed: its open connections are gone too. */
static void
anvil_local_gone(struct stream *st)
{
	struct anvil_local *l = anvil_local(st, false);
	struct htable_entry **list;
	char key[32];

	if (l == NULL)
		return;
	list = htable_list(l->open);
	for (size_t i = 0; list[i] != NULL; i++)
		for (intptr_t n = (intptr_t)list[i]->value; n > 0; n--)
			anvil_remote_disconnect(list[i]->key);
	free(list);
	htable_free(l->open, NULL);
	(void)snprintf(key, sizeof(key), "%p", (void *)st);
	(void)htable_delete(anvil_locals, key, free);
}

static int
anvil_connect(struct stream *st, const char *service, char **argv)
{
	(void)service;
	(void)argv;
	attr_reset(anvil_rep);
	attr_put(anvil_rep, "protocol", ANVIL_PROTOCOL);
	return attr_write(st, anvil_rep);
}

/* One request; -1 ends the connection (EOF, error, bad request). */
static int
anvil_request(struct stream *st, const char *service, char **argv)
{
	const char *request, *ident;
	int rc;

	(void)service;
	(void)argv;
	if (attr_read(st, anvil_req, ANVIL_VALUE_MAX) < 0)
		goto gone;
	attr_reset(anvil_rep);
	if ((request = attr_get(anvil_req, "request")) == NULL ||
	    (ident = attr_get(anvil_req, "ident")) == NULL) {
		msg_warn("malformed request");
		goto gone;
	}
	if (msg_verbose)
		msg_info("request=%s ident=%s", request, ident);
	attr_put_long(anvil_rep, "status", ANVIL_STAT_OK);
	if (strcmp(request, "connect") == 0)
		rc = anvil_do_connect(st, ident);
	else if (strcmp(request, "disconnect") == 0)
		rc = anvil_do_disconnect(st, ident);
	else if (strcmp(request, "message") == 0)
		rc = anvil_do_event(ident, offsetof(struct anvil_remote, mail),
		    &max_mail_rate);
	else if (strcmp(request, "recipient") == 0)
		rc = anvil_do_event(ident, offsetof(struct anvil_remote, rcpt),
		    &max_rcpt_rate);
	else if (strcmp(request, "newtls") == 0)
		rc = anvil_do_event(ident, offsetof(struct anvil_remote, ntls),
		    &max_ntls_rate);
	else if (strcmp(request, "newtls_report") == 0)
		rc = anvil_do_newtls_report(ident);
	else if (strcmp(request, "auth") == 0)
		rc = anvil_do_event(ident, offsetof(struct anvil_remote, auth),
		    &max_auth_rate);
	else if (strcmp(request, "lookup") == 0)
		rc = anvil_do_lookup(ident);
	else {
		msg_warn("unrecognized request: \"%s\", ignored", request);
		rc = -1;
	}
	if (rc < 0) {
		attr_reset(anvil_rep);
		attr_put_long(anvil_rep, "status", ANVIL_STAT_FAIL);
	}
	if (attr_write(st, anvil_rep) < 0)
		goto gone;
	return 0;
gone:
	anvil_local_gone(st);
	return -1;
}

static void
anvil_post_jail(const char *service, char **argv)
{
	(void)service;
	(void)argv;
	anvil_remotes = htable_new(100);
	anvil_locals = htable_new(100);
	anvil_req = attr_new();
	anvil_rep = attr_new();
	/* As Postfix: do not exit (and forget) before a window can end. */
	if (var_max_idle < var_anvil_rate_time_unit)
		var_max_idle = var_anvil_rate_time_unit;
	event_timer(anvil_status_timer, NULL,
	    anvil_ms(var_anvil_status_update_time));
}

int
main(int argc, char **argv)
{
	static const struct daemon_spec spec = {
		.kind = DAEMON_MULTI,
		.request = anvil_request,
		.connect = anvil_connect,
		.post_jail = anvil_post_jail,
		.on_exit = anvil_status_dump,
		.flags = DAEMON_SOLITARY | DAEMON_NO_USE_LIMIT,
	};

	return daemon_main(argc, argv, &spec);
}
