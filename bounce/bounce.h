/*
 * bounce.h - the bounce daemon's internal interfaces.
 *
 * bounce_msg_open(queue, id, msg, why)  read the envelope of the original
 *                          message (queue file, no symlinks): 0, or -1 with
 *                          why (errno kept)
 * bounce_msg_close(msg)    free what open filled
 * bounce_msg_copy(msg, st, headers_only, why)  copy the content records (all
 *                          of them, or the primary headers only) to st as
 *                          N/L records: 0, or -1 with why
 * bounce_notice_send(n, msg, list, why)  compose notice n about the entries
 *                          of list that n->select picks and submit it
 *                          through cleanup: the new queue ID (malloc'd), or
 *                          NULL with why
 */
#ifndef BOUNCE_H
#define BOUNCE_H

#include <sys/time.h>
#include <stdbool.h>

#include "lib/util/str.h"
#include "lib/util/stream.h"
#include "lib/mail/rcpt_log.h"

/* DSN RET= values in the '<' record (Postfix's). */
#define BOUNCE_RET_FULL 1
#define BOUNCE_RET_HDRS 2

struct bounce_msg {
	char *queue;  /* queue name */
	char *id;     /* queue ID */
	char *path;   /* queue/[h/]id */
	char *sender; /* envelope sender, "" for <> */
	char *envid;  /* DSN ENVID or "" */
	int ret;      /* BOUNCE_RET_* or 0 */
	struct timeval arrival;
	long data_offset;  /* first content record */
	long content_size; /* queue.h content_size */
};

enum bounce_kind {
	BOUNCE_FAILURE,
	BOUNCE_DELAY,
	BOUNCE_SUCCESS,
	BOUNCE_VERIFY /* sendmail -bv: Mail Delivery Status Report */
};

/* Which part of the original message a notice carries. */
enum bounce_orig { BOUNCE_ORIG_HEADERS, BOUNCE_ORIG_FULL };

struct bounce_notice {
	enum bounce_kind kind;
	bool postmaster; /* a copy for the postmaster (no template text) */
	const char *recipient;  /* To: and envelope recipient */
	const char *env_sender; /* envelope sender, "" for <> */
	enum bounce_orig
	    orig;           /* wanted; bounce_size_limit may cut to headers */
	bool select_notify; /* only entries whose NOTIFY= asks for kind */
	bool as_failed;     /* report every entry as failed (expiry) */
};

int bounce_msg_open(const char *, const char *, struct bounce_msg *,
    struct str *) __attribute__((warn_unused_result));
void bounce_msg_close(struct bounce_msg *);
int bounce_msg_copy(const struct bounce_msg *, struct stream *, bool,
    struct str *) __attribute__((warn_unused_result));
bool bounce_notice_wants(const struct bounce_notice *,
    const struct rcpt_log_entry *);
char *bounce_notice_send(const struct bounce_notice *,
    const struct bounce_msg *, const struct rcpt_log_list *, struct str *);

#endif
