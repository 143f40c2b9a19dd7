/*
 * qmgr - shared declarations of the queue manager's modules.
 *
 * qmgr_msg.c   qmgr_msg_read(id)    read active/ID into a message (NULL:
 *                                   the file went to corrupt/ or away)
 *              qmgr_msg_free(m)     free
 *              qmgr_msg_remaining(m) R records left in the file, or -1
 *              qmgr_msg_warned(m)   rewrite the W record to 0 (warning
 *                                   sent): 0, or -1 after a warning
 * qmgr_dlv.c   qmgr_dlv_add(m)      resolve and queue m's recipients
 *              qmgr_dlv_forget()    forget dead destinations ('F', new run)
 *              qmgr_dlv_idle()      no delivery in progress
 * qmgr.c       qmgr_msg_done(m)     every entry of m has been handled:
 *                                   remove, bounce or defer the message
 */
#ifndef QMGR_H
#define QMGR_H

#include <sys/time.h>
#include <stdbool.h>
#include <stddef.h>

#include "lib/util/str.h"
#include "lib/mail/deliver.h"

struct qmgr_rcpt {
	char *orig, *addr, *dsn_orcpt;
	long offset;
	int notify;
};

struct qmgr_msg {
	char *id;
	struct deliver_request *info; /* envelope; no recipients */
	struct qmgr_rcpt *rcpt;
	size_t rcpt_count, rcpt_alloc;
	size_t pending; /* entries queued or in delivery */
	bool expired;
	long warn_time;   /* W record: delay warning due (0: none/sent) */
	long warn_offset; /* file offset of the W record, 0 if none */
};

struct qmgr_msg *qmgr_msg_read(const char *);
struct qmgr_msg *qmgr_msg_free(struct qmgr_msg *);
long qmgr_msg_remaining(const struct qmgr_msg *);
int qmgr_msg_warned(struct qmgr_msg *);
void qmgr_dlv_add(struct qmgr_msg *);
void qmgr_dlv_forget(void);
bool qmgr_dlv_idle(void);
void qmgr_msg_done(struct qmgr_msg *);

#endif
