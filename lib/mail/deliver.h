/*
 * deliver - the delivery protocol between qmgr and the delivery agents
 * (local, smtp, error, discard, ...), the agent-side library that reads a
 * request and records each recipient's outcome, and the bounce_notify
 * request that qmgr makes of the bounce service.
 *
 * qmgr side:
 * deliver_request_new(), deliver_request_free(req)  build / free (NULL ok)
 * deliver_rcpt_add(req, orig, addr, offset, dsn_orcpt, notify)  append a
 *                             recipient; returns it
 * deliver_request_send(st, req, why)  read the agent's greeting
 *                             (protocol=delivery_request_protocol), then
 *                             send the request; 0, or -1 with why
 * deliver_reply_read(st, status, why)  the agent's reply: 0 with *status
 *                             (0: every recipient final, else try again),
 *                             or -1 with why (the agent died or spoke
 *                             wrongly: qmgr defers every recipient)
 *
 * agent side:
 * deliver_request_read(st, req, why)  send the greeting, read one request:
 *                             0, or -1 with why on EOF, timeout or ANY
 *                             malformed input (unknown or missing attribute,
 *                             bad number, bad queue name or ID, a recipient
 *                             count that does not match, an offset before
 *                             the data, ...): the agent then replies nothing
 *                             and closes, which qmgr takes as a defer
 * deliver_reply_send(st, req)  send status=req->status; 0/-1
 * deliver_conn_done(req)      (optional) connection setup ended now: splits
 *                             delays=a/b/c/d between c and d
 * deliver_sent(req, rcpt, relay, dsn, fmt, ...)  the recipient was
 *                             delivered: log the status=sent line, append
 *                             to trace/QID when its NOTIFY has SUCCESS, mark
 *                             the recipient done in the queue file
 * deliver_bounce(req, rcpt, relay, dsn, fmt, ...)  permanent failure: log
 *                             status=bounced, append to bounce/QID, mark done
 * deliver_defer(req, rcpt, relay, dsn, fmt, ...)  temporary failure: log
 *                             status=deferred, append to defer/QID; the
 *                             recipient stays in the queue file
 * deliver_sent_diag(req, rcpt, relay, dsn, diag, fmt, ...),
 * deliver_bounce_diag(...), deliver_defer_diag(...)  the same, with what a
 *                             remote server said (struct deliver_diag; NULL
 *                             is the plain function): the reply goes to the
 *                             logs as the notice's "Diagnostic-Code: smtp;
 *                             REPLY" (without it, "X-Postfix; TEXT"), the
 *                             success action may be "relayed", and a server
 *                             that took NOTIFY over (it announced DSN) gets
 *                             no success notice of ours for NOTIFY=SUCCESS
 * deliver_mark_done(req, rcpt)  only mark the recipient done (no log): for
 *                             an agent that passed the recipient on to
 *                             another agent with DELIVER_FLAG_PASSED and
 *                             got a final status back; 0/-1 as above
 * deliver_rcpt_offset_ok(req, offset)  can an R record be at offset (in
 *                             the envelope or after the content)?
 * deliver_delay_fmt(out, sec, usec, maxdig)  Postfix's delay number
 *                             (2 significant digits, whole seconds from 10 s,
 *                             at most maxdig decimals, trailing zeros cut):
 *                             0, 0.01, 0.9, 1.2, 62, 103
 *
 * Each of deliver_sent/bounce/defer logs exactly Postfix's line
 *   QID: to=<RCPT>, orig_to=<ORIG>, relay=RELAY, conn_use=N, delay=N,
 *   delays=a/b/c/d, dsn=X.Y.Z, status=sent (TEXT)
 * (orig_to only when the original recipient is known and differs;
 * conn_use only when req->conn_use > 1, a reused connection; the
 * addresses in external, quoted form as Postfix logs them; "relay" is
 * "none" when NULL; delay = now - arrival;
 * a = active - arrival, b = agent start - active, c = connection setup,
 * d = the rest; numbers per deliver_delay_fmt with
 * delay_logging_resolution_limit decimals) and returns 0 when the outcome
 * is recorded.  When it cannot be (the bounce/defer log cannot be
 * appended, the queue file cannot be marked), the function logs a warning
 * and sets DELIVER_STAT_DEFER in req->status, so that qmgr keeps the
 * message and tries that recipient again; it returns -1.  deliver_bounce
 * with soft_bounce = yes becomes a defer (the DSN class 5 becomes 4), as
 * in Postfix.
 *
 * Crash safety.  A final outcome (sent, bounced) is logged and recorded
 * first (bounce/QID appended and fsynced; the agent fsyncs what it
 * delivered, e.g. the mailbox, before calling deliver_sent), and only then
 * is the recipient's R record marked: its type byte is rewritten in place
 * to D (REC_TYPE_DONE).  The mark is not fsynced (nor is it in Postfix):
 * a process crash cannot lose it (it is in the page cache, which qmgr
 * reads), and a system crash that loses it before write-back leaves the R
 * record, as does a crash between delivery and marking, so the recipient
 * is tried again: a duplicate, never a loss.  qmgr never removes a message
 * while an R record remains.  The agent opens the queue file
 * (queue_name/queue_id relative to queue_directory) without following
 * symlinks, and refuses a recipient offset that does not point at an R or
 * D record outside the content (before data_offset, or after data_offset +
 * data_size: sendmail -t recipients follow the X record).
 *
 * Passing a recipient on (Postfix's deliver_pass).  An agent may act as
 * the client of another agent (local's mailbox_transport and
 * fallback_transport): it sends a request for the same queue file and
 * recipient (same offset) with DELIVER_FLAG_PASSED added.  The other agent
 * logs and records the outcome (bounce/defer/trace logs) as usual but
 * leaves the R record alone; the first agent marks it done with
 * deliver_mark_done() when the reply says final and it has nothing else
 * pending for that recipient.  So a recipient with several deliveries is
 * never crossed off while one of them is still deferred.
 *
 * The conversation over private/<transport> (attr.h lists):
 *   agent -> qmgr   protocol=delivery_request_protocol
 *   qmgr  -> agent  flags queue_name queue_id data_offset data_size
 *                   nexthop encoding sendopts sender envid ret
 *                   arrival_time active_time (both "SEC USEC")
 *                   client_name client_addr client_port protocol_name
 *                   helo_name sasl_method sasl_username sasl_sender
 *                   log_ident rewrite_context recipient_count
 *                   (all present, in this order; values may be empty)
 *   qmgr  -> agent  one list per recipient: original_recipient recipient
 *                   offset dsn_orig_rcpt notify_flags
 *   agent -> qmgr   status=N (DELIVER_STAT_*; 0: all recipients final)
 * One request per connection; the agent closes after replying.  An agent
 * that dies or times out before the reply means: every recipient of the
 * request that is still an R record is tried again.
 *
 * The bounce_notify request over private/bounce (attr.h lists), made by
 * qmgr once every recipient of a message is final or deferred:
 *   bounce -> qmgr  protocol=bounce_protocol
 *   qmgr -> bounce  request=R queue_name queue_id sender envid ret
 *                   (encoding sendopts arrival_time follow; the bounce
 *                   service reads the message itself from the queue file)
 *   bounce -> qmgr  status=N (0: done, the log(s) removed; else try later)
 * request is one of:
 *   notify  non-delivery notice from bounce/QID (recipients that failed),
 *           and success notice from trace/QID (recipients with NOTIFY=
 *           SUCCESS, written by deliver_sent), each when present; removes
 *           those logs; logs "QID: sender non-delivery notification:
 *           NEWQID" (a null sender's notices follow Postfix's double-bounce
 *           rules)
 *   flush   the message expired: one notice from bounce/QID and defer/QID
 *           (deferred recipients reported as failed); removes both logs
 *   warn    delay_warning_time passed: "delayed" notice from defer/QID,
 *           which is kept (qmgr asks when the W record's time has passed
 *           and the message is deferred, then rewrites W to 0: once)
 *   verify  the message is a sendmail -bv probe (DELIVER_FLAG_VERIFY):
 *           a "Mail Delivery Status Report" to the sender from trace/QID
 *           (every entry, deliverable or not); removes trace/QID; logs
 *           "QID: sender delivery status notification: NEWQID"
 *
 * Verification (DELIVER_FLAG_VERIFY, set by qmgr with RECORD_SUCCESS for
 * a queue file with "A trace_flags" QUEUE_TRACE_VERIFY).  An agent does
 * everything up to the delivery itself and then calls deliver_sent/
 * bounce/defer with the text of what it would do ("delivers to mailbox"):
 * in this mode none of them touches bounce/ or defer/; each appends to
 * trace/QID with action "deliverable" (sent) or "undeliverable" (bounce,
 * defer: a verification is final), logs status=deliverable or status=
 * undeliverable, and marks the recipient done.
 *
 * trace/ reasons.  Every entry written to trace/ (success notices and
 * verification) gets Postfix's prefix "delivery via RELAY: " when relay
 * is not "none", as the reports show it ("delivery via local: delivered
 * to mailbox").  The remote MTA (Remote-MTA:) of any entry is the host
 * part of a relay of the form "host[addr]:port", else none.
 * If the bounce service cannot be reached or answers nonzero, qmgr keeps
 * the message (deferred) and asks again at the next attempt.
 */
#ifndef DELIVER_H
#define DELIVER_H

#include <sys/time.h>
#include <stdbool.h>
#include <stddef.h>

#include "lib/util/str.h"
#include "lib/util/stream.h"
#include "lib/mail/dsn.h"

#define DELIVER_PROTOCOL "delivery_request_protocol"
#define BOUNCE_PROTOCOL  "bounce_protocol"

#define BOUNCE_REQ_NOTIFY "notify"
#define BOUNCE_REQ_FLUSH  "flush"
#define BOUNCE_REQ_WARN   "warn"
#define BOUNCE_REQ_VERIFY "verify"

/* Request flags (flags=N). */
#define DELIVER_FLAG_RECORD_SUCCESS (1 << 0) /* success notices (trace) */
#define DELIVER_FLAG_VERIFY         (1 << 1) /* address probe (-bv) */
#define DELIVER_FLAG_PASSED         (1 << 4) /* passed on: don't mark done */
/*
 * Connection caching on demand (Postfix's DEL_REQ_FLAG_CONN_FETCH/STORE):
 * qmgr sets STORE (and FETCH) while more mail waits for the destination,
 * and FETCH alone while connections it asked to keep may still be cached.
 */
#define DELIVER_FLAG_CONN_FETCH     (1 << 5) /* look for a cached connection */
#define DELIVER_FLAG_CONN_STORE     (1 << 6) /* keep the connection afterwards */

/* Reply status (status=N). */
#define DELIVER_STAT_OK    0
#define DELIVER_STAT_DEFER (1 << 0) /* some recipient was not final */

/* Limits on what a request may carry. */
#define DELIVER_VALUE_MAX 102400 /* any one attribute value */
#define DELIVER_RCPT_MAX  100000 /* recipients in one request */

struct deliver_rcpt {
	struct str *orig_rcpt; /* original recipient, "" when unknown */
	struct str *address;   /* recipient (internal form) */
	long offset;           /* file offset of its R record */
	struct str *dsn_orcpt; /* DSN ORCPT "type;address" or "" */
	int notify;            /* DSN_NOTIFY_* or 0 */
};

struct deliver_request {
	int flags;              /* DELIVER_FLAG_* */
	struct str *queue_name; /* "active" */
	struct str *queue_id;
	long data_offset; /* first content record */
	long data_size;   /* content size (queue.h content_size) */
	struct str *nexthop;
	struct str *encoding;   /* "7bit", "8bit" or "" */
	int sendopts;           /* SMTPUTF8 bits */
	struct str *sender;     /* envelope sender, "" for <> */
	struct str *envid;      /* DSN ENVID or "" */
	int ret;                /* DSN RET bits or 0 */
	struct timeval arrival; /* the message's arrival (T record) */
	struct timeval active;  /* when qmgr took it into active/ */
	struct str *client_name, *client_addr, *client_port;
	struct str *protocol_name, *helo_name;
	struct str *sasl_method, *sasl_username, *sasl_sender;
	struct str *log_ident;       /* queue ID to log under */
	struct str *rewrite_context; /* "local" or "remote" */
	struct deliver_rcpt *rcpt;   /* rcpt_count of them */
	size_t rcpt_count;

	/* Agent side: filled by deliver_request_read() and the results. */
	int status;               /* DELIVER_STAT_*: the reply */
	struct timeval handoff;   /* when the agent read the request */
	struct timeval conn_done; /* deliver_conn_done(), or zero */
	int conn_use;             /* >1: the connection's Nth use (logged) */
	int qfd;                  /* queue file, opened on first mark */
	size_t rcpt_alloc;
};

/* What a remote server said about a recipient (the *_diag functions). */
struct deliver_diag {
	const char *dtype;  /* "smtp" (LMTP too), or NULL: no server reply */
	const char *dtext;  /* the reply, lines joined by spaces */
	const char *action; /* success: "relayed" or "delivered" (NULL) */
	bool notify_passed; /* the server took NOTIFY: no success notice */
};

struct deliver_request *deliver_request_new(void);
struct deliver_request *deliver_request_free(struct deliver_request *);
struct deliver_rcpt *deliver_rcpt_add(struct deliver_request *, const char *,
    const char *, long, const char *, int);
int deliver_request_send(struct stream *, const struct deliver_request *,
    struct str *) __attribute__((warn_unused_result));
int deliver_reply_read(struct stream *, int *, struct str *)
    __attribute__((warn_unused_result));

bool deliver_rcpt_offset_ok(const struct deliver_request *, long);
int deliver_request_read(struct stream *, struct deliver_request *,
    struct str *) __attribute__((warn_unused_result));
int deliver_reply_send(struct stream *, const struct deliver_request *);
void deliver_conn_done(struct deliver_request *);
int deliver_sent(struct deliver_request *, struct deliver_rcpt *, const char *,
    const char *, const char *, ...) __attribute__((format(printf, 5, 6)));
int deliver_bounce(struct deliver_request *, struct deliver_rcpt *,
    const char *, const char *, const char *, ...)
    __attribute__((format(printf, 5, 6)));
int deliver_defer(struct deliver_request *, struct deliver_rcpt *, const char *,
    const char *, const char *, ...) __attribute__((format(printf, 5, 6)));
int deliver_sent_diag(struct deliver_request *, struct deliver_rcpt *,
    const char *, const char *, const struct deliver_diag *, const char *, ...)
    __attribute__((format(printf, 6, 7)));
int deliver_bounce_diag(struct deliver_request *, struct deliver_rcpt *,
    const char *, const char *, const struct deliver_diag *, const char *, ...)
    __attribute__((format(printf, 6, 7)));
int deliver_defer_diag(struct deliver_request *, struct deliver_rcpt *,
    const char *, const char *, const struct deliver_diag *, const char *, ...)
    __attribute__((format(printf, 6, 7)));
int deliver_mark_done(struct deliver_request *, struct deliver_rcpt *);
void deliver_delay_fmt(struct str *, long, long, int);

#endif
