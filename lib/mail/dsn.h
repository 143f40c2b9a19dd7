/*
 * dsn - the DSN (RFC 3461) bits that travel from sendmail -N/-R and smtpd's
 * NOTIFY=/RET= through the queue file (n and < records) to the delivery
 * agents and the bounce service.  Postfix's values, observed in its queue
 * files, so that a queue file means the same to both.  Defined here once.
 */
#ifndef DSN_H
#define DSN_H

#define DSN_NOTIFY_NEVER   (1 << 0) /* NOTIFY=NEVER */
#define DSN_NOTIFY_SUCCESS (1 << 1) /* NOTIFY=SUCCESS */
#define DSN_NOTIFY_FAILURE (1 << 2) /* NOTIFY=FAILURE */
#define DSN_NOTIFY_DELAY   (1 << 3) /* NOTIFY=DELAY */
#define DSN_NOTIFY_ANY \
	(DSN_NOTIFY_SUCCESS | DSN_NOTIFY_FAILURE | DSN_NOTIFY_DELAY)

#define DSN_RET_FULL 1 /* RET=FULL */
#define DSN_RET_HDRS 2 /* RET=HDRS */

#endif
