/*
 * qmgr - the queue manager (Postfix's qmgr(8)): moves finished messages
 * from incoming/ (and due ones from deferred/) into active/, resolves
 * each recipient through trivial-rewrite, and hands them to the delivery
 * agents on private/<transport>, per destination within its concurrency
 * window and recipient limit (qmgr_dlv.c).  After each attempt it asks
 * the bounce service for the notices that bounce/ and trace/ call for
 * (recipients that bounced or were delivered in that attempt); when every
 * recipient is final it removes the file, otherwise the file goes to
 * deferred/ with its mtime set to the next attempt, until it expires and
 * is returned to the sender.
 * Runs as mail_owner under master, one resident process (maxproc 1),
 * chroot allowed.  Woken through public/qmgr: I and W scan incoming/, D
 * deferred/, A ignores the deferred files' time stamps on the next scan,
 * F forgets dead destinations.  Scans read a few files per round of the
 * event loop, between the agents' replies.  At start it moves whatever a
 * crash left in active/ back to incoming/ and resumes at once.
 * Crash safety: a message is in exactly one queue at any time (a move is
 * a rename; into deferred/ followed by directory fsyncs); recipients are
 * crossed off by the agents only after their results are recorded, so a
 * crash can duplicate a delivery, never lose one.
 */
#include <sys/stat.h>
#include <sys/time.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/util/argv.h"
#include "lib/util/event.h"
#include "lib/util/msg.h"
#include "lib/util/sock.h"
#include "lib/util/str.h"
#include "lib/util/stream.h"
#include "lib/mail/addr.h"
#include "lib/mail/attr.h"
#include "lib/mail/daemon.h"
#include "lib/mail/deliver.h"
#include "lib/mail/params.h"
#include "lib/mail/queue.h"
#include "lib/mail/rcpt_log.h"
#include "qmgr/qmgr.h"

/* Per round of the event loop: files moved into active/, files looked at. */
#define QMGR_SCAN_STEP 2
#define QMGR_SCAN_LOOK 100

static int active_msgs;    /* messages in memory */
static long active_rcpts;  /* their recipients */
static bool more_incoming; /* a scan stopped at a limit */
static bool more_deferred;
static bool ignore_time; /* 'A': next deferred scan takes all */

static bool
log_exists(const char *logq, const char *id)
{
	struct str *path = str_new(0);
	struct stat st;
	bool ret;

	queue_path(path, logq, id);
	ret = lstat(str_ptr(path), &st) == 0;
	str_free(path);
	return ret;
}

/*
 * Ask the bounce service for a notice (deliver.h, bounce_protocol): 0 when
 * it is done, -1 when it could not be asked or said no.
 */
static int
bounce_request(const struct qmgr_msg *m, const char *request)
{
	const struct deliver_request *req = m->info;
	struct str *path = str_new(0), *why = str_new(0), *tv = str_new(0);
	struct attr_list *al = attr_new();
	struct stream *st = NULL;
	long status = -1;
	int fd;

	str_fmt(path, "private/%s", var_bounce_service_name);
	if ((fd = sock_unix_connect(str_ptr(path), 10000, why)) < 0) {
		msg_warn("%s: connect to %s: %s", m->id, str_ptr(path),
		    str_ptr(why));
		goto out;
	}
	st = stream_open(fd);
	stream_set_timeout(st, var_ipc_timeout * 1000);
	if (attr_read(st, al, ATTR_NAME_MAX) < 0 ||
	    !attr_expect(al, "protocol", BOUNCE_PROTOCOL)) {
		msg_warn("%s: no greeting from the %s service", m->id,
		    var_bounce_service_name);
		goto out;
	}
	attr_reset(al);
	attr_put(al, "request", request);
	attr_put(al, "queue_name", QUEUE_ACTIVE);
	attr_put(al, "queue_id", m->id);
	attr_put(al, "sender", str_ptr(req->sender));
	attr_put(al, "envid", str_ptr(req->envid));
	attr_put_long(al, "ret", req->ret);
	attr_put(al, "encoding", str_ptr(req->encoding));
	attr_put_long(al, "sendopts", req->sendopts);
	str_fmt(tv, "%ld %ld", (long)req->arrival.tv_sec,
	    (long)req->arrival.tv_usec);
	attr_put(al, "arrival_time", str_ptr(tv));
	if (attr_write(st, al) < 0 || attr_read(st, al, 32) < 0 ||
	    attr_get_long(al, "status", &status) < 0) {
		msg_warn("%s: no reply from the %s service", m->id,
		    var_bounce_service_name);
		status = -1;
	}
out:
	stream_close(st);
	attr_free(al);
	str_free(path);
	str_free(why);
	str_free(tv);
	return status == 0 ? 0 : -1;
}

/* Back to deferred/, with the next attempt as the mtime. */
static void
defer_message(const struct qmgr_msg *m)
{
	struct str *path = str_new(0), *why = str_new(0);
	struct timeval tv[2];
	time_t now = time(NULL);
	long backoff = (long)(now - m->info->arrival.tv_sec);

	if (backoff < var_minimal_backoff_time)
		backoff = var_minimal_backoff_time;
	if (backoff > var_maximal_backoff_time)
		backoff = var_maximal_backoff_time;
	queue_path(path, QUEUE_ACTIVE, m->id);
	tv[0].tv_sec = tv[1].tv_sec = now + backoff;
	tv[0].tv_usec = tv[1].tv_usec = 0;
	if (utimes(str_ptr(path), tv) < 0)
		msg_warn("%s: update %s time stamps: %m", m->id, str_ptr(path));
	if (queue_move(QUEUE_ACTIVE, m->id, QUEUE_DEFERRED, why) < 0)
		msg_warn("%s: %s", m->id, str_ptr(why));
	str_free(path);
	str_free(why);
}

static void
remove_message(const struct qmgr_msg *m)
{
	if (rcpt_log_remove(QUEUE_DEFER, m->id) < 0 && errno != ENOENT)
		msg_warn("%s: remove defer log: %m", m->id);
	if (queue_remove(QUEUE_ACTIVE, m->id) < 0)
		msg_warn("%s: remove %s/%s: %m", m->id, QUEUE_ACTIVE, m->id);
	else
		msg_info("%s: removed", m->id);
}

static void scan_incoming(void);
static void scan_deferred(void);

static void
rescan(int ev, void *ctx)
{
	(void)ev;
	(void)ctx;
	if (more_incoming)
		scan_incoming();
	if (more_deferred)
		scan_deferred();
}

void
qmgr_msg_done(struct qmgr_msg *m)
{
	long left = qmgr_msg_remaining(m);

	if (left == 0) {
		if (!log_exists(QUEUE_BOUNCE, m->id) &&
		    !log_exists(QUEUE_TRACE, m->id))
			remove_message(m);
		else if (bounce_request(m,
			     (m->info->flags & DELIVER_FLAG_VERIFY)
				 ? BOUNCE_REQ_VERIFY
				 : BOUNCE_REQ_NOTIFY) == 0)
			remove_message(m);
		else
			defer_message(m);
	} else if (left > 0 && m->expired) {
		struct str *sender = str_new(0);

		addr_externalize(sender, str_ptr(m->info->sender));
		msg_info("%s: from=<%s>, status=expired, returned to sender",
		    m->id, str_ptr(sender));
		str_free(sender);
		if (bounce_request(m, BOUNCE_REQ_FLUSH) == 0)
			remove_message(m);
		else
			defer_message(m);
	} else if (left > 0) {
		/*
		 * Some recipients stay deferred.  As Postfix 3.7 does each
		 * time a message leaves the active queue, the ones that
		 * bounced or were delivered with NOTIFY=SUCCESS in this
		 * attempt get their notices now.  The bounce service removes
		 * bounce/QID (trace/QID) only after cleanup has the notice
		 * on disk, and those recipients are already crossed off, so
		 * a later notice cannot list them again; a crash in between
		 * leaves the log for the next attempt (a duplicate notice,
		 * never a lost one).  A failed request keeps the logs for
		 * the next attempt too.  An address probe (sendmail -bv)
		 * gets its one report when no recipient is left.
		 */
		if (!(m->info->flags & DELIVER_FLAG_VERIFY) &&
		    (log_exists(QUEUE_BOUNCE, m->id) ||
			log_exists(QUEUE_TRACE, m->id)))
			(void)bounce_request(m, BOUNCE_REQ_NOTIFY);
		/*
		 * delay_warning_time passed (W record): warn once.  Postfix
		 * 3.7 warns from the attempt made in the second before the
		 * W time on (observed: delay_warning_time = 2s warns at the
		 * attempt 1 s after arrival, 7s at 7 s but not at 5 s).
		 */
		if (m->warn_time > 0 && m->warn_time <= (long)time(NULL) + 1 &&
		    !(m->info->flags & DELIVER_FLAG_VERIFY) &&
		    log_exists(QUEUE_DEFER, m->id) &&
		    bounce_request(m, BOUNCE_REQ_WARN) == 0)
			(void)qmgr_msg_warned(m);
		defer_message(m);
	}
	/* left < 0: the file is gone or unreadable; nothing to move. */
	active_msgs--;
	active_rcpts -= (long)m->rcpt_count;
	qmgr_msg_free(m);
	if (more_incoming || more_deferred)
		event_timer(rescan, NULL, 0);
}

static bool
room(void)
{
	return active_msgs < var_qmgr_message_active_limit &&
	       active_rcpts < var_qmgr_message_recipient_limit;
}

/* A file now in active/: read it and queue its recipients. */
static void
activate(const char *id)
{
	struct qmgr_msg *m;
	long lifetime;

	if (rcpt_log_remove(QUEUE_DEFER, id) < 0 && errno != ENOENT)
		msg_warn("%s: remove defer log: %m", id);
	if ((m = qmgr_msg_read(id)) == NULL)
		return;
	gettimeofday(&m->info->active, NULL);
	lifetime = str_len(m->info->sender) == 0 ? var_bounce_queue_lifetime
						 : var_maximal_queue_lifetime;
	m->expired = lifetime == 0 || m->info->arrival.tv_sec <
					  m->info->active.tv_sec - lifetime;
	active_msgs++;
	active_rcpts += (long)m->rcpt_count;
	qmgr_dlv_add(m);
	if (m->pending == 0)
		qmgr_msg_done(m);
}

/*
 * Move one file of queue into active/ and queue it for delivery, if it is
 * complete (and due, with check_time); true when it was taken.
 *
 * The rename is not followed by directory fsyncs, as in Postfix: the
 * message is durable already (cleanup synced it and its directory before
 * the 250), a rename leaves it under one of the two names after a crash
 * (and active/ goes back to incoming/ at start), and the journal commits
 * it before any later change to the file (its removal after delivery).
 */
static bool
take(const char *queue, const char *id, bool check_time, time_t now)
{
	struct str *path = str_new(0), *why = str_new(0);
	struct stat st;
	bool taken = false;

	queue_path(path, queue, id);
	if (lstat(str_ptr(path), &st) == 0 && S_ISREG(st.st_mode) &&
	    queue_complete(&st) && !(check_time && st.st_mtime > now)) {
		if (queue_move_rename(queue, id, QUEUE_ACTIVE, why) < 0) {
			msg_warn("%s: %s", id, str_ptr(why));
		} else {
			activate(id);
			taken = true;
		}
	}
	str_free(path);
	str_free(why);
	return taken;
}

/*
 * incoming/ and deferred/ are read a few files per round of the event
 * loop, each from one open directory scan, so that replies from the
 * delivery agents and the next deliveries never wait behind a long queue
 * (Postfix feeds one message per round).  A wakeup during a scan starts
 * another once it ends (for a file it may have passed already); a full
 * active queue ends the scan until a message leaves (*more).
 */
struct qscan {
	const char *queue;
	struct queue_scan *qs;
	bool again;      /* woken during the scan: scan again after it */
	bool check_time; /* deferred/: only the files whose time has come */
	bool *more;      /* a full active queue ended the scan */
	void (*restart)(void);
};

static struct qscan in_scan = { .queue = QUEUE_INCOMING,
	.more = &more_incoming,
	.restart = scan_incoming };
static struct qscan def_scan = { .queue = QUEUE_DEFERRED,
	.more = &more_deferred,
	.restart = scan_deferred };

static void
scan_step(int ev, void *ctx)
{
	struct qscan *sc = ctx;
	time_t now = time(NULL);
	const char *id;
	int taken = 0, seen = 0;

	(void)ev;
	while (taken < QMGR_SCAN_STEP && seen < QMGR_SCAN_LOOK) {
		if (!room()) {
			*sc->more = true;
			sc->again = false;
			sc->qs = queue_scan_close(sc->qs);
			return;
		}
		if ((id = queue_scan_next(sc->qs)) == NULL) {
			sc->qs = queue_scan_close(sc->qs);
			if (sc->again)
				sc->restart();
			return;
		}
		seen++;
		if (take(sc->queue, id, sc->check_time, now))
			taken++;
	}
	event_timer(scan_step, sc, 0);
}

/* Open a scan; false when one is under way (it goes again) or failed. */
static bool
scan_begin(struct qscan *sc)
{
	if (sc->qs != NULL) {
		sc->again = true;
		return false;
	}
	sc->again = false;
	*sc->more = false;
	if ((sc->qs = queue_scan_open(sc->queue)) == NULL) {
		msg_warn("scan %s: %m", sc->queue);
		return false;
	}
	return true;
}

static void
scan_incoming(void)
{
	if (scan_begin(&in_scan))
		scan_step(0, &in_scan);
}

/* A queue run: what is due in deferred/ (everything after an 'A'). */
static void
scan_deferred(void)
{
	if (!scan_begin(&def_scan))
		return;
	def_scan.check_time = !ignore_time;
	ignore_time = false;
	qmgr_dlv_forget(); /* a new queue run */
	scan_step(0, &def_scan);
}

static void
deferred_timer(int ev, void *ctx)
{
	(void)ev;
	scan_deferred();
	event_timer(deferred_timer, ctx, var_queue_run_delay * 1000);
}

/* Wakeups: A and F first, then D and I (duplicates count once). */
static void
qmgr_trigger(const char *buf, size_t len, const char *service, char **argv)
{
	bool incoming = false, deferred = false;

	(void)service;
	(void)argv;
	for (size_t i = 0; i < len; i++) {
		switch (buf[i]) {
		case 'A':
			ignore_time = true;
			break;
		case 'F':
			qmgr_dlv_forget();
			break;
		case 'D':
			deferred = true;
			break;
		case 'I':
		case 'W':
			incoming = true;
			break;
		default:
			break;
		}
	}
	if (deferred)
		scan_deferred();
	if (incoming)
		scan_incoming();
}

/* The first scans, and then one of deferred/ every queue_run_delay. */
static void
startup(int ev, void *ctx)
{
	(void)ev;
	(void)ctx;
	scan_incoming();
	deferred_timer(0, NULL);
}

/*
 * At start: what a crash left in active/ goes back to incoming/, before
 * any wakeup is served, and is taken again at once.
 */
static void
qmgr_post_jail(const char *service, char **argv)
{
	struct queue_scan *qs = queue_scan_open(QUEUE_ACTIVE);
	struct str *why = str_new(0);
	const char *id;

	(void)service;
	(void)argv;
	if (qs == NULL) {
		msg_warn("scan %s: %m", QUEUE_ACTIVE);
	} else {
		while ((id = queue_scan_next(qs)) != NULL)
			if (queue_move(QUEUE_ACTIVE, id, QUEUE_INCOMING, why) <
			    0)
				msg_warn("%s: %s", id, str_ptr(why));
		queue_scan_close(qs);
	}
	str_free(why);
	event_timer(startup, NULL, 0);
}

int
main(int argc, char **argv)
{
	static const struct daemon_spec spec = {
		.kind = DAEMON_TRIGGER,
		.trigger = qmgr_trigger,
		.post_jail = qmgr_post_jail,
		.flags = DAEMON_SOLITARY | DAEMON_RESIDENT,
	};
	return daemon_main(argc, argv, &spec);
}
