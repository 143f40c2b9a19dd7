/*
 * cleanup_proto - the conversation between cleanup and its clients (pickup
 * now; smtpd later), and the client side of it.
 *
 * cleanup_open(path, flags, why)  connect to the cleanup service (path is
 *                         "public/cleanup" relative to queue_directory),
 *                         read its greeting (protocol=cleanup_protocol,
 *                         queue_id=ID) and send flags=N.  NULL with why
 *                         filled when the service cannot be reached or
 *                         answers wrongly.
 * cleanup_stream(c)       the stream to write the message records to
 *                         (record.h); the client writes the envelope, M,
 *                         content, X, extracted records and E
 * cleanup_queue_id(c)     the queue ID cleanup assigned
 * cleanup_close(c, reason) flush, read the reply (status=N, reason=TEXT),
 *                         close and free.  Returns the CLEANUP_STAT_* bits
 *                         (0: the queue file is safely on disk); reason
 *                         gets cleanup's text when there is one.  A lost
 *                         connection or a malformed reply is
 *                         CLEANUP_STAT_WRITE (try again later).
 * cleanup_abort(c)        close without waiting for a reply (the client
 *                         gave up; cleanup removes its half file); NULL
 * cleanup_stat_smtp(st)   the SMTP reply for a status: code, enhanced
 *                         code and text as Postfix's cleanup_strerror()
 *                         ("451", "4.3.0", "queue file write error")
 *
 * The conversation (attr.h lists, then record.h records):
 *   cleanup -> client   protocol=cleanup_protocol queue_id=ID
 *   client  -> cleanup  flags=N (CLEANUP_FLAG_*)
 *   client  -> cleanup  records: envelope ... M content ... X extracted E
 *   cleanup -> client   status=N reason=TEXT
 * cleanup replies only after the queue file is complete and durable
 * (queue.h), so status=0 means the message cannot be lost any more.
 *
 * Added by the cleanup work (compatible):
 * - reason= is "" on success and otherwise starts with an enhanced status
 *   code: the check's text for CLEANUP_STAT_CONT ("5.7.1 no spam"), else
 *   cleanup's own text ("4.6.0 Alias expansion error", "5.3.4 message
 *   file too big"); a client that wants Postfix's SMTP reply uses
 *   cleanup_stat_smtp(status) for the code.
 * - An envelope attribute "A submit_uid=N" (a local submission; pickup
 *   sends the maildrop file owner) makes cleanup add Postfix's local
 *   Received: header first, "Received: by $myhostname ($mail_name, from
 *   userid N)" NL TAB "id QID; DATE" (DATE: the arrival time), as
 *   Postfix's pickup writes it.  The attribute is not stored.  A client
 *   that writes the header itself must not send it.
 * - Client description for log lines: A log_client_name, log_client_address,
 *   log_protocol_name, log_helo_name (or the same without log_); without
 *   them cleanup's lines say "from local;".  They are stored as given.
 * - A dsn_orig_rcpt=TYPE;ADDR attribute is accepted as the ORCPT of the
 *   next R (Postfix's form), like an 'o' record.
 * - CLEANUP_XFLAG_VERIFY in the 'f' record (sendmail -bv) makes cleanup
 *   write "A trace_flags=512" (QUEUE_TRACE_VERIFY, queue.h) into the
 *   queue file before the first recipient, as Postfix's cleanup does.
 * - With delay_warning_time > 0 cleanup writes a W record (queue.h)
 *   before the first recipient (or before M when there is none).
 */
#ifndef CLEANUP_PROTO_H
#define CLEANUP_PROTO_H

#include "lib/util/str.h"
#include "lib/util/stream.h"

#define CLEANUP_PROTOCOL "cleanup_protocol"

/* Client flags (flags=N), Postfix's meanings. */
#define CLEANUP_FLAG_BOUNCE  (1 << 0) /* bounce bad mail (vs. reject it) */
#define CLEANUP_FLAG_FILTER  (1 << 1) /* run header/body checks */
#define CLEANUP_FLAG_HOLD    (1 << 2) /* put the message on hold */
#define CLEANUP_FLAG_DISCARD (1 << 3) /* discard the message */
#define CLEANUP_FLAG_BCC_OK  (1 << 4) /* always_bcc and friends allowed */
#define CLEANUP_FLAG_MAP_OK  (1 << 5) /* canonical/virtual mapping allowed */
#define CLEANUP_FLAG_SMTPUTF8 (1 << 8) /* the client asked for SMTPUTF8 */
#define CLEANUP_FLAG_AUTOUTF8 (1 << 9) /* ask for it when the mail has UTF-8 */
#define CLEANUP_FLAG_MASK_EXTERNAL \
	(CLEANUP_FLAG_BOUNCE | CLEANUP_FLAG_FILTER | CLEANUP_FLAG_HOLD | \
	    CLEANUP_FLAG_DISCARD | CLEANUP_FLAG_BCC_OK | CLEANUP_FLAG_MAP_OK | \
	    CLEANUP_FLAG_SMTPUTF8 | CLEANUP_FLAG_AUTOUTF8)
/*
 * Flags a local submission carries inside the message, in an 'f' envelope
 * record written by sendmail and passed on by postdrop and pickup.
 */
#define CLEANUP_XFLAG_EXTRACT_RCPT (1 << 16) /* sendmail -t: recipients */
					     /* from To/Cc/Bcc, Bcc removed */
#define CLEANUP_XFLAG_VERIFY (1 << 17) /* sendmail -bv: a probe (queue.h) */
#define CLEANUP_XFLAG_MASK (CLEANUP_XFLAG_EXTRACT_RCPT | CLEANUP_XFLAG_VERIFY)

/* Reply status bits (status=N); 0 is success. */
#define CLEANUP_STAT_BAD     (1 << 0) /* internal protocol error */
#define CLEANUP_STAT_WRITE   (1 << 1) /* error writing the queue file */
#define CLEANUP_STAT_SIZE    (1 << 2) /* message_size_limit exceeded */
#define CLEANUP_STAT_CONT    (1 << 3) /* content rejected (checks) */
#define CLEANUP_STAT_HOPS    (1 << 4) /* hopcount_limit exceeded */
#define CLEANUP_STAT_RCPT    (1 << 6) /* no recipients */
#define CLEANUP_STAT_PROXY   (1 << 7) /* (smtpd proxy) */
#define CLEANUP_STAT_DEFER   (1 << 8) /* temporary failure (table) */
#define CLEANUP_STAT_NOPERM  (1 << 9) /* denied (header_checks) */

struct cleanup_smtp {
	const char *code; /* "451" */
	const char *dsn;  /* "4.3.0" */
	const char *text; /* "queue file write error" */
};

struct cleanup;

struct cleanup *cleanup_open(const char *, int, struct str *);
struct stream *cleanup_stream(struct cleanup *);
const char *cleanup_queue_id(const struct cleanup *);
int cleanup_close(struct cleanup *, struct str *);
struct cleanup *cleanup_abort(struct cleanup *);
const struct cleanup_smtp *cleanup_stat_smtp(int);

#endif
