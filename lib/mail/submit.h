/*
 * submit - the records of a local submission: what sendmail may send to
 * postdrop, and what pickup accepts from a maildrop file (written by
 * postdrop, but sitting in a directory that local users can write to, so
 * pickup checks it again).  Plus the sendmail/postdrop conversation.
 *
 * submit_init(s, opts)   start checking one message
 * submit_check(s, type, data, len, why)  one more record: 0 when it may
 *                        come here, -1 with why ("unexpected record type
 *                        X", "line break in sender record", ...).  After
 *                        -1 the message is bad; stop.
 * submit_done(s)         the E record was seen (nothing may follow)
 * s->sender              the sender (internal form) once S was seen
 *
 * Grammar (record.h types; anything else is refused):
 *   [T]                  first, exactly one, only with SUBMIT_TIME
 *                        (pickup; postdrop writes it, sendmail may not)
 *   envelope             f (decimal, only CLEANUP_XFLAG_* bits), once;
 *                        A rewrite_context=local|remote or
 *                        A encoding=7bit|8bit; F; S exactly once; < (RET,
 *                        1 or 2), i (ENVID), V (two VERP delimiters),
 *                        each at most once; n (NOTIFY, 1-15) only right
 *                        before an R; R any number
 *   M                    content starts: needs S, and an R or the
 *                        extract flag (sendmail -t)
 *   N, L                 content lines (any bytes)
 *   X                    extracted segment (empty: cleanup extracts)
 *   E                    the end
 * Envelope data may not contain NUL, CR or LF: a line break in a sender,
 * recipient or full name would become a forged header line downstream.
 * Everything pickup hands to cleanup on the user's behalf (submit_uid,
 * and the rewrite context when absent) comes from pickup itself.
 *
 * The sendmail <-> postdrop -r conversation (attr.h lists, record.h
 * records), ours:
 *   postdrop -> sendmail   protocol=postdrop_protocol queue_id=ID
 *   sendmail -> postdrop   records as above, without T, ending with E
 *   postdrop -> sendmail   status=0 once the file is complete and durable
 *                          (status=1 reason=TEXT on a refusal; postdrop
 *                          also prints its error on stderr and exits 1;
 *                          reason POSTDROP_TOO_BIG when the file would
 *                          pass message_size_limit, which sendmail reports
 *                          as "message file too big", as Postfix's does)
 * A sendmail that stops before E (a fatal error, a signal) cancels the
 * message: postdrop removes its file.
 */
#ifndef SUBMIT_H
#define SUBMIT_H

#include <sys/types.h>
#include <stdbool.h>
#include <stddef.h>

#include "lib/util/str.h"
#include "lib/mail/dsn.h"

#define POSTDROP_PROTOCOL "postdrop_protocol"
/* postdrop's reason when the message passes message_size_limit. */
#define POSTDROP_TOO_BIG  "File too large"

#define SUBMIT_TIME (1 << 0) /* a T record comes first (maildrop file) */

/* DSN bits: lib/mail/dsn.h. */
#define SUBMIT_NOTIFY_NEVER   DSN_NOTIFY_NEVER
#define SUBMIT_NOTIFY_SUCCESS DSN_NOTIFY_SUCCESS
#define SUBMIT_NOTIFY_FAILURE DSN_NOTIFY_FAILURE
#define SUBMIT_NOTIFY_DELAY   DSN_NOTIFY_DELAY
#define SUBMIT_RET_FULL       DSN_RET_FULL
#define SUBMIT_RET_HDRS       DSN_RET_HDRS

struct submit_state {
	int opts;
	int stage;   /* internal: where in the grammar */
	int seen;    /* internal: once-only records seen */
	long xflags; /* the f record */
	bool notify; /* an n record waits for its R */
	long rcpt_count;
	struct str *sender;
};

/*
 * submit_postdrop(to, from, who)  start "postdrop -r" (with -v when
 *                        msg_verbose) with pipes to its standard input and
 *                        from its standard output; its pid.  Failing to
 *                        run it is fatal: who (e.g. "user(1000)") and
 *                        "unable to execute PATH -r: REASON".
 */
struct stream;
pid_t submit_postdrop(struct stream **, struct stream **, const char *);

void submit_init(struct submit_state *, int);
void submit_free(struct submit_state *);
int submit_check(struct submit_state *, int, const char *, size_t, struct str *)
    __attribute__((warn_unused_result));
bool submit_done(const struct submit_state *);

#endif
