/*
 * showq_proto - what the showq service tells postqueue (mailq): one attr
 * list (attr.h) per queue file and per recipient.
 *
 * The server speaks first and never reads:
 *   protocol=showq_protocol
 * then for each queue file, in the order maildrop incoming active
 * deferred hold (each queue in directory order):
 *   kind=message queue_name=Q queue_id=ID time=ARRIVAL size=BYTES
 *       forced_expire=0|1 sender=ADDR ("" for the null sender)
 *   kind=recipient address=ADDR [orig_address=ADDR] [reason=TEXT]
 *       (one list per recipient, in queue file order; reason is the
 *       delay reason from defer/ID, when there is one)
 * and finally
 *   kind=end
 * A client that sees anything else, or EOF before kind=end, reports the
 * listing as incomplete.  Values are at most SHOWQ_VALUE_MAX bytes.
 */
#ifndef SHOWQ_PROTO_H
#define SHOWQ_PROTO_H

#include <sys/stat.h>

#include "lib/mail/rcpt_log.h"

#define SHOWQ_PROTOCOL  "showq_protocol"
#define SHOWQ_VALUE_MAX (RCPT_LOG_VALUE_MAX + 1024)

/*
 * A queue file whose group execute bit is set has been force-expired by
 * postsuper -e/-f (Postfix's MAIL_QUEUE_STAT_EXPIRE): qmgr returns it to
 * the sender at its next delivery attempt, mailq marks it with '#'.
 */
#define QUEUE_MODE_EXPIRE S_IXGRP

#define SHOWQ_KIND_MESSAGE   "message"
#define SHOWQ_KIND_RECIPIENT "recipient"
#define SHOWQ_KIND_END       "end"

#endif
