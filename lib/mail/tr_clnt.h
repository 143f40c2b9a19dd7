/*
 * tr_clnt - the client side of trivial-rewrite: the rewrite and resolve
 * requests that cleanup (and later smtpd, qmgr, local) make.
 *
 * rewrite_addr(rule, addr, result)  rewrite addr (internal form) to
 *                         canonical form with rule "local" or "remote"
 *                         (rewrite_context): 0, or -1 when trivial-rewrite
 *                         cannot be reached (the caller defers the mail)
 * resolve_addr(sender, addr, reply)  the delivery route of a recipient
 *                         address: 0 with reply filled, or -1 as above
 * resolve_reply_new(), resolve_reply_free(r)  a reply to fill and reuse
 *
 * One connection to private/rewrite is kept open and reused; a broken one
 * is reopened once per request.  Each request waits at most ipc_timeout.
 * The socket path is relative ("private/$rewrite_service_name"): daemons
 * run in queue_directory; a command must chdir there first.  Reply values
 * longer than TR_VALUE_MAX bytes are refused (-1).  Failures are logged
 * as warnings ("connect to private/rewrite: ...", "problem talking to
 * service rewrite: ...").
 *
 * The conversation (attr.h lists over private/rewrite):
 *   server  -> client  protocol=rewrite_protocol       (once, on connect)
 *   client  -> server  request=rewrite rule=R address=A
 *   server  -> client  flags=N address=A
 *   client  -> server  request=resolve sender=S address=A
 *   server  -> client  flags=N transport=T nexthop=H recipient=A
 */
#ifndef TR_CLNT_H
#define TR_CLNT_H

#include "lib/util/str.h"

#define REWRITE_PROTOCOL "rewrite_protocol"
#define TR_VALUE_MAX     102400 /* header_size_limit's default */

/* resolve flags, Postfix's meanings. */
#define RESOLVE_FLAG_FINAL    (1 << 0)  /* final delivery (local, virtual) */
#define RESOLVE_FLAG_ROUTED   (1 << 1)  /* routed address (% ! @host:) */
#define RESOLVE_FLAG_ERROR    (1 << 2)  /* bad address syntax */
#define RESOLVE_FLAG_FAIL     (1 << 3)  /* table lookup failed: defer */
#define RESOLVE_CLASS_LOCAL   (1 << 8)  /* mydestination, interfaces */
#define RESOLVE_CLASS_ALIAS   (1 << 9)  /* virtual_alias_domains */
#define RESOLVE_CLASS_VIRTUAL (1 << 10) /* virtual_mailbox_domains */
#define RESOLVE_CLASS_RELAY   (1 << 11) /* relay_domains */
#define RESOLVE_CLASS_DEFAULT (1 << 12) /* everything else */
#define RESOLVE_CLASS_MASK                                                     \
	(RESOLVE_CLASS_LOCAL | RESOLVE_CLASS_ALIAS | RESOLVE_CLASS_VIRTUAL |   \
	    RESOLVE_CLASS_RELAY | RESOLVE_CLASS_DEFAULT)

struct resolve_reply {
	int flags;
	struct str *transport; /* "local", "smtp", "error" ... */
	struct str *nexthop;   /* "example.com", "[10.0.0.1]:587" ... */
	struct str *recipient; /* the address, possibly rewritten */
};

int rewrite_addr(const char *, const char *, struct str *)
    __attribute__((warn_unused_result));
int resolve_addr(const char *, const char *, struct resolve_reply *)
    __attribute__((warn_unused_result));
struct resolve_reply *resolve_reply_new(void);
struct resolve_reply *resolve_reply_free(struct resolve_reply *);

#endif
