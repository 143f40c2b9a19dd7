/*
 * bounce - send delivery status notifications: non-delivery, delay and
 * success notices as RFC 3464 multipart/report messages, and the
 * postmaster's copies that notify_classes asks for.
 * Run by master (services bounce, defer and trace), one client per
 * process, as mail_owner; chroot allowed.
 * Serves qmgr's notify/flush/warn/verify requests (lib/mail/deliver.h):
 * reads the original from its queue file and the recipient results from
 * bounce/, defer/ and trace/ (rcpt_log.h; the delivery agents append
 * those themselves), submits each notice through public/cleanup, and
 * removes a log only after cleanup has the notice safely on disk.
 * Every request value is bounded (DELIVER_VALUE_MAX); a queue name or ID
 * is checked before it names a file.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "lib/util/alloc.h"
#include "lib/util/argv.h"
#include "lib/util/msg.h"
#include "lib/util/str.h"
#include "lib/util/stream.h"
#include "lib/mail/attr.h"
#include "lib/mail/daemon.h"
#include "lib/mail/deliver.h"
#include "lib/mail/params.h"
#include "lib/mail/queue.h"
#include "lib/mail/rcpt_log.h"
#include "bounce/bounce.h"

/* notify_classes bits that this daemon acts upon. */
#define CLASS_BOUNCE  (1 << 0)
#define CLASS_2BOUNCE (1 << 1)
#define CLASS_DELAY   (1 << 2)

static int bounce_classes;

/* Which notify_classes are set (Postfix ignores unknown names here). */
static int
bounce_parse_classes(const char *value)
{
	struct argv *a = argv_split(value, ", \t\r\n");
	int mask = 0;
	size_t i;

	for (i = 0; i < a->argc; i++) {
		if (strcasecmp(a->argv[i], "bounce") == 0)
			mask |= CLASS_BOUNCE;
		else if (strcasecmp(a->argv[i], "2bounce") == 0)
			mask |= CLASS_2BOUNCE;
		else if (strcasecmp(a->argv[i], "delay") == 0)
			mask |= CLASS_DELAY;
	}
	argv_free(a);
	return mask;
}

/* Read a log; a missing log is an empty list, other errors are -1. */
static int
bounce_read_log(const char *logq, const char *id, struct rcpt_log_list **out)
{
	struct str *why = str_new(64);
	int ret = 0;

	*out = rcpt_log_read(logq, id, why);
	if (*out == NULL) {
		if (errno == ENOENT) {
			*out = xcalloc(1, sizeof(**out));
		} else {
			msg_warn("%s: %s", id, str_ptr(why));
			ret = -1;
		}
	}
	str_free(why);
	return ret;
}

static size_t
bounce_count(const struct bounce_notice *n, const struct rcpt_log_list *list)
{
	size_t i, count = 0;

	for (i = 0; i < list->count; i++)
		if (bounce_notice_wants(n, &list->entries[i]))
			count++;
	return count;
}

/* Submit one notice and log it; 0, or -1 after a warning. */
static int
bounce_one(const struct bounce_notice *n, const struct bounce_msg *msg,
    const struct rcpt_log_list *list, const char *what)
{
	struct str *why = str_new(64);
	char *new_id;

	new_id = bounce_notice_send(n, msg, list, why);
	if (new_id == NULL) {
		msg_warn("%s: %s %s notification failed: %s", msg->id,
		    n->postmaster ? "postmaster" : "sender", what,
		    str_ptr(why));
		str_free(why);
		return -1;
	}
	msg_info("%s: %s %s notification: %s", msg->id,
	    n->postmaster ? "postmaster" : "sender", what, new_id);
	free(new_id);
	str_free(why);
	return 0;
}

/*
 * The notices of one kind about list, following Postfix's rules: a
 * message from the double-bounce address is a failed postmaster notice
 * and is dropped with a warning; a null sender's notices go to the
 * 2bounce postmaster (with the full message) when notify_classes says
 * 2bounce; otherwise the sender gets the recipients whose NOTIFY= asks
 * for this kind, and the postmaster a headers-only copy of all of them
 * when notify_classes says bounce (failures) or delay (delays).
 */
static int
bounce_kind(enum bounce_kind kind, const struct bounce_msg *msg,
    const struct rcpt_log_list *list, bool as_failed)
{
	struct bounce_notice n = { .kind = kind, .as_failed = as_failed };
	struct str *dbl = str_new(64);
	const char *what;
	int ret = 0;

	what = kind == BOUNCE_FAILURE ? "non-delivery"
	       : kind == BOUNCE_DELAY ? "delay"
				      : "delivery status";
	if (list->count == 0)
		goto out;
	str_fmt(dbl, "%s@%s", var_double_bounce_sender, var_myhostname);
	if (strcasecmp(msg->sender, str_ptr(dbl)) == 0) {
		if (kind == BOUNCE_FAILURE)
			msg_warn("%s: undeliverable postmaster notification "
				 "discarded",
			    msg->id);
		goto out;
	}
	if (*msg->sender == 0) {
		if (kind == BOUNCE_SUCCESS || kind == BOUNCE_VERIFY ||
		    (bounce_classes & CLASS_2BOUNCE) == 0)
			goto out;
		n.postmaster = true;
		n.recipient = var_2bounce_notice_recipient;
		n.env_sender = str_ptr(dbl);
		n.orig = BOUNCE_ORIG_FULL;
		ret = bounce_one(&n, msg, list, what);
		goto out;
	}

	/* The sender's notice. */
	n.recipient = msg->sender;
	n.env_sender = "";
	n.select_notify = true;
	if (kind == BOUNCE_FAILURE)
		n.orig = msg->ret == BOUNCE_RET_HDRS ? BOUNCE_ORIG_HEADERS
						     : BOUNCE_ORIG_FULL;
	else if (kind == BOUNCE_SUCCESS || kind == BOUNCE_VERIFY)
		n.orig = msg->ret == BOUNCE_RET_FULL ? BOUNCE_ORIG_FULL
						     : BOUNCE_ORIG_HEADERS;
	else
		n.orig = BOUNCE_ORIG_HEADERS;
	if (kind == BOUNCE_VERIFY)
		n.select_notify = false; /* every result was asked for */
	if (bounce_count(&n, list) > 0 && bounce_one(&n, msg, list, what) < 0) {
		ret = -1;
		goto out;
	}

	/* The postmaster's copy. */
	n.postmaster = true;
	n.select_notify = false;
	n.env_sender = str_ptr(dbl);
	n.orig = BOUNCE_ORIG_HEADERS;
	if (kind == BOUNCE_FAILURE && (bounce_classes & CLASS_BOUNCE)) {
		n.recipient = var_bounce_notice_recipient;
		ret = bounce_one(&n, msg, list, what);
	} else if (kind == BOUNCE_DELAY && (bounce_classes & CLASS_DELAY)) {
		n.recipient = var_delay_notice_recipient;
		ret = bounce_one(&n, msg, list, what);
	}
out:
	str_free(dbl);
	return ret;
}

/* Remove a consumed log; a failure only means a duplicate notice later. */
static void
bounce_remove_log(const char *logq, const char *id)
{
	if (rcpt_log_remove(logq, id) < 0 && errno != ENOENT)
		msg_warn("%s: remove %s log: %m", id, logq);
}

/* Append the entries of b to a (flush: bounce/ and defer/ together). */
static void
bounce_list_join(struct rcpt_log_list *a, struct rcpt_log_list *b)
{
	if (b->count == 0)
		return;
	a->entries =
	    xreallocarray(a->entries, a->count + b->count, sizeof(*a->entries));
	memcpy(a->entries + a->count, b->entries,
	    b->count * sizeof(*b->entries));
	a->count += b->count;
	free(b->entries);
	b->entries = NULL;
	b->count = 0;
}

/* One request: 0 when every notice is submitted and the logs handled. */
static int
bounce_request(const char *req, struct bounce_msg *msg)
{
	struct rcpt_log_list *bl = NULL, *dl = NULL, *tl = NULL;
	int ret = -1;

	if (strcmp(req, BOUNCE_REQ_NOTIFY) == 0) {
		if (bounce_read_log(QUEUE_BOUNCE, msg->id, &bl) < 0 ||
		    bounce_read_log(QUEUE_TRACE, msg->id, &tl) < 0)
			goto out;
		if (bounce_kind(BOUNCE_FAILURE, msg, bl, false) < 0)
			goto out;
		if (bl->count)
			bounce_remove_log(QUEUE_BOUNCE, msg->id);
		if (bounce_kind(BOUNCE_SUCCESS, msg, tl, false) < 0)
			goto out;
		if (tl->count)
			bounce_remove_log(QUEUE_TRACE, msg->id);
	} else if (strcmp(req, BOUNCE_REQ_FLUSH) == 0) {
		if (bounce_read_log(QUEUE_BOUNCE, msg->id, &bl) < 0 ||
		    bounce_read_log(QUEUE_DEFER, msg->id, &dl) < 0)
			goto out;
		bounce_list_join(bl, dl);
		if (bounce_kind(BOUNCE_FAILURE, msg, bl, true) < 0)
			goto out;
		bounce_remove_log(QUEUE_BOUNCE, msg->id);
		bounce_remove_log(QUEUE_DEFER, msg->id);
	} else if (strcmp(req, BOUNCE_REQ_VERIFY) == 0) {
		if (bounce_read_log(QUEUE_TRACE, msg->id, &tl) < 0 ||
		    bounce_kind(BOUNCE_VERIFY, msg, tl, false) < 0)
			goto out;
		if (tl->count)
			bounce_remove_log(QUEUE_TRACE, msg->id);
	} else if (strcmp(req, BOUNCE_REQ_WARN) == 0) {
		if (bounce_read_log(QUEUE_DEFER, msg->id, &dl) < 0 ||
		    bounce_kind(BOUNCE_DELAY, msg, dl, false) < 0)
			goto out;
	} else {
		msg_warn("unknown bounce request: \"%.100s\"", req);
		goto out;
	}
	ret = 0;
out:
	rcpt_log_list_free(bl);
	rcpt_log_list_free(dl);
	rcpt_log_list_free(tl);
	return ret;
}

/*
 * One client: greet, read one request, reply status=0 (done) or 1 (try
 * again later).  The envelope values in the request override the queue
 * file's; the queue file names the message.
 */
static void
bounce_service(struct stream *st, const char *service, char **argv)
{
	struct attr_list *al = attr_new();
	struct bounce_msg msg;
	struct str *why = str_new(64);
	const char *req, *queue, *id, *v;
	bool opened = false;
	long n;
	int status = 1;

	(void)service;
	(void)argv;
	attr_put(al, "protocol", BOUNCE_PROTOCOL);
	if (attr_write(st, al) < 0 || attr_read(st, al, DELIVER_VALUE_MAX) < 0)
		goto out;
	req = attr_get(al, "request");
	queue = attr_get(al, "queue_name");
	id = attr_get(al, "queue_id");
	if (req == NULL || queue == NULL || id == NULL) {
		msg_warn("bounce request without request, queue_name or "
			 "queue_id");
		goto reply;
	}
	if (bounce_msg_open(queue, id, &msg, why) < 0) {
		msg_warn("%s", str_ptr(why));
		goto reply;
	}
	opened = true;
	if ((v = attr_get(al, "sender")) != NULL) {
		free(msg.sender);
		msg.sender = xstrdup(v);
	}
	if ((v = attr_get(al, "envid")) != NULL && *v != 0) {
		free(msg.envid);
		msg.envid = xstrdup(v);
	}
	if ((v = attr_get(al, "ret")) != NULL && *v != 0) {
		if (attr_get_long(al, "ret", &n) < 0) {
			msg_warn("%s: bad ret in bounce request", id);
			goto reply;
		}
		msg.ret = (int)n;
	}
	if (bounce_request(req, &msg) == 0)
		status = 0;
reply:
	attr_reset(al);
	attr_put_long(al, "status", status);
	(void)attr_write(st, al);
out:
	if (opened)
		bounce_msg_close(&msg);
	attr_free(al);
	str_free(why);
}

static void
bounce_pre_jail(const char *service, char **argv)
{
	(void)service;
	(void)argv;
	tzset(); /* local time in Date: inside a chroot jail */
}

static void
bounce_post_jail(const char *service, char **argv)
{
	(void)service;
	(void)argv;
	bounce_classes = bounce_parse_classes(var_notify_classes);
}

int
main(int argc, char **argv)
{
	static const struct daemon_spec spec = {
		.kind = DAEMON_SINGLE,
		.service = bounce_service,
		.pre_jail = bounce_pre_jail,
		.post_jail = bounce_post_jail,
	};
	return daemon_main(argc, argv, &spec);
}
