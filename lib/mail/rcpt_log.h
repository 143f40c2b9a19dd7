/*
 * rcpt_log - the per-message recipient logs in bounce/, defer/ and trace/:
 * one entry per recipient result, appended by the delivery side (bounce,
 * defer, trace services), read back by the notice writers and showq
 * (mailq's "(reason)" lines), removed with the message.
 *
 * rcpt_log_append(logq, id, ent, why)  append one entry to LOGQ/ID (path
 *                                from queue_path(), so defer/ is hashed):
 *                                0 once the entry is on disk (fsync), or
 *                                -1 with why (errno kept)
 * rcpt_log_read(logq, id, why)   all entries of LOGQ/ID in file order, or
 *                                NULL with why and errno (ENOENT when the
 *                                log does not exist); malformed entries
 *                                are skipped with a warning naming the file
 * rcpt_log_list_free(list)       free (NULL ok); returns NULL
 * rcpt_log_remove(logq, id)      unlink LOGQ/ID: 0, or -1 with errno
 *                                (ENOENT when there was none)
 * rcpt_log_encode(out, ent)      append the bytes of one entry to out (what
 *                                rcpt_log_append writes; for tests)
 *
 * Paths are relative to queue_directory, like everything in queue.h; logq
 * is QUEUE_BOUNCE, QUEUE_DEFER or QUEUE_TRACE and id must pass
 * queue_id_ok() (checked; -1 with EINVAL otherwise).
 *
 * Writing.  The log is opened with safe_open() (no symlinks, no hard
 * links, regular file only), created mode 0600 when absent (with its hash
 * subdirectory), locked with flock(LOCK_EX), and the entry is written with
 * one write() on an O_APPEND descriptor, then fsync'ed before success is
 * returned.  A writer running as root (local) gives what it creates (the
 * file, a hash subdirectory) to the owner of the log directory, so that
 * bounce, showq and qmgr (mail_owner) can read and remove it.  A delivery
 * agent reports a recipient as deferred/bounced only after that, so a
 * crash never loses a result that qmgr acted upon.
 *
 * Format (ours; Postfix's is text, see postfix-notes.md 2.4).  A log is a
 * sequence of record.h records.  One entry is a run of REC_TYPE_ATTR
 * records "name=value" ended by one REC_TYPE_END record with no data:
 *
 *   A "recipient=user@example.com"      required (may be empty: "<>")
 *   A "orig_recipient=User@Example.COM" optional
 *   A "dsn_orig_rcpt=rfc822;user@..."   optional
 *   A "offset=1234"                     file offset of the R record, or 0
 *   A "notify_flags=0"                  DSN_NOTIFY_* bits (decimal)
 *   A "status=4.4.1"                    required, [245].N.N (RFC 3463)
 *   A "action=delayed"                  required: delayed, failed,
 *                                       delivered, relayed, expanded,
 *                                       or (sendmail -bv, in trace/)
 *                                       deliverable or undeliverable
 *   A "reason=connect to ...: ..."      diagnostic text (may be empty)
 *   A "mta=mx.example.com"              remote MTA name, optional
 *   A "diag_type=smtp"                  optional: the diagnostic came from
 *                                       a server reply (Diagnostic-Code:
 *                                       "smtp; TEXT"); absent, the
 *                                       notice says "X-Postfix; REASON"
 *   A "diag_text=550 5.1.1 <u@...>..."  with diag_type: the reply, its
 *                                       lines joined by spaces
 *   A "time=1795314517"                 when the result happened (seconds)
 *   E ""                                end of entry
 *
 * Values hold no NUL, CR or LF (the writer replaces control characters
 * with spaces) and are at most RCPT_LOG_VALUE_MAX bytes; an entry has at
 * most RCPT_LOG_ATTR_MAX attributes.  A reader ignores attribute names it
 * does not know (later versions may add some).
 *
 * Crash tolerance.  The entry goes out in a single write, so a crash can
 * only leave a prefix of the last entry.  A reader drops an incomplete last
 * entry with a warning.  Because no record but E has empty data and values
 * hold no NUL, a log that ends cleanly ends in a 0 byte; a writer that finds
 * another last byte truncates the file back to its last complete entry
 * before it appends (under the lock), so later entries are never glued
 * onto a torn one.  An entry that is framed but malformed (a missing
 * required field, a bad status or action, a record other than A) is
 * skipped with a warning; a framing error (bad record type, length over
 * the limit) ends the read with a warning, keeping the entries before it.
 */
#ifndef RCPT_LOG_H
#define RCPT_LOG_H

#include <stddef.h>

#include "lib/util/str.h"
#include "lib/mail/dsn.h"

#define RCPT_LOG_VALUE_MAX 10240 /* bytes of one value (reason texts) */
#define RCPT_LOG_ATTR_MAX  64    /* attributes in one entry */

/* What one entry says; strings are never NULL when read back ("" if absent). */
struct rcpt_log_entry {
	const char *address;      /* recipient (internal form) */
	const char *orig_address; /* original recipient, "" if none */
	const char *dsn_orcpt;    /* DSN ORCPT "type;address", "" if none */
	long offset;              /* offset of its R record in the queue file */
	int notify_flags;         /* DSN_NOTIFY_* */
	const char *status;       /* DSN status "4.4.1" */
	const char *action;       /* "delayed", "failed", "delivered", ... */
	const char *reason;       /* diagnostic text */
	const char *mta;          /* remote MTA name, "" if none */
	const char *dtype;        /* diagnostic type "smtp", "" if none */
	const char *dtext;        /* the server's reply, with dtype */
	long time;                /* seconds since the epoch */
};

struct rcpt_log_list {
	size_t count;
	struct rcpt_log_entry *entries; /* count entries; strings owned */
};

int rcpt_log_append(const char *, const char *, const struct rcpt_log_entry *,
    struct str *) __attribute__((warn_unused_result));
struct rcpt_log_list *rcpt_log_read(const char *, const char *, struct str *);
struct rcpt_log_list *rcpt_log_list_free(struct rcpt_log_list *);
int rcpt_log_remove(const char *, const char *);
void rcpt_log_encode(struct str *, const struct rcpt_log_entry *);

#endif
