/*
 * flush_clnt - the client side of the fast flush service (Postfix's
 * flush(8)): per-destination lists of deferred mail, so that ETRN,
 * postqueue -s and postqueue -i deliver it at once.
 *
 * flush_clnt_add(site, id)     the message id has a recipient in site that
 *                              was deferred (delivery agents, qmgr)
 * flush_clnt_send_site(site)   deliver the mail listed for site now (ETRN,
 *                              postqueue -s, sendmail -qR)
 * flush_clnt_send_file(id)     deliver one deferred message now
 *                              (postqueue -i, sendmail -qI)
 * flush_clnt_refresh()         deliver what lists have not been read for
 *                              fast_flush_refresh_time, delete lists that
 *                              stayed empty for fast_flush_purge_time
 * flush_clnt_purge()           refresh every list, whatever its age
 * flush_clnt_site_ok(site)     a destination as ETRN and postqueue -s take
 *                              it: a host name as Postfix's valid_hostname()
 *                              (at most FLUSH_SITE_MAX bytes, labels of at
 *                              most 63 letters, digits, '-', '_', no label
 *                              starting or ending with '-', not all
 *                              numeric) or an address literal "[1.2.3.4]",
 *                              "[IPv6:2001:db8::1]"
 * flush_clnt_id_ok(id)         a queue ID as Postfix's mail_queue_id_ok()
 *                              takes it: letters, digits, '_', at most
 *                              FLUSH_SITE_MAX bytes
 *
 * Every function returns a FLUSH_STAT_* value: OK (done, or nothing to
 * do), DENY (site is not in fast_flush_domains), BAD (a malformed
 * request) or FAIL (the service cannot be reached or failed).  With an
 * empty fast_flush_domains, add and send_site are DENY without a
 * connection, as Postfix's client, so that delivery pays nothing for the
 * feature it does not use; otherwise the server decides (it can read the
 * tables fast_flush_domains names, which a chrooted agent may not).
 * A failure is logged here only with -v; callers pick their warning.
 *
 * The conversation (attr.h lists, one request per connection to
 * public/flush relative to queue_directory, bounded by ipc_timeout):
 *   server -> client  protocol=flush_protocol
 *   client -> server  request=add site=S queue_id=Q
 *                     request=send_site site=S
 *                     request=send_file queue_id=Q
 *                     request=refresh | request=purge
 *   server -> client  status=N
 * Values are at most FLUSH_VALUE_MAX bytes.  master's wakeup byte 'W'
 * (master.cf's "1000?") is taken as a refresh request.
 */
#ifndef FLUSH_CLNT_H
#define FLUSH_CLNT_H

#include <stdbool.h>

#define FLUSH_PROTOCOL  "flush_protocol"
#define FLUSH_VALUE_MAX 1024
#define FLUSH_SITE_MAX  255 /* Postfix's VALID_HOSTNAME_LEN */

#define FLUSH_STAT_OK   0
#define FLUSH_STAT_FAIL (-1)
#define FLUSH_STAT_BAD  3
#define FLUSH_STAT_DENY 4

#define FLUSH_REQ_ADD       "add"
#define FLUSH_REQ_SEND_SITE "send_site"
#define FLUSH_REQ_SEND_FILE "send_file"
#define FLUSH_REQ_REFRESH   "refresh"
#define FLUSH_REQ_PURGE     "purge"

int flush_clnt_add(const char *, const char *);
int flush_clnt_send_site(const char *);
int flush_clnt_send_file(const char *);
int flush_clnt_refresh(void);
int flush_clnt_purge(void);
bool flush_clnt_site_ok(const char *);
bool flush_clnt_id_ok(const char *);

#endif
