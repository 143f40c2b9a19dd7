/*
 * trigger - wake a service up by sending it a few bytes, as Postfix's
 * mail_trigger() does: master's wakeup timers, postfix flush, postqueue -f,
 * postdrop's pickup wakeup.
 *
 * trigger_send(path, buf, len, why)  send buf to the service endpoint at
 *                 path (usually relative to queue_directory, e.g.
 *                 "public/qmgr"): a UNIX-domain stream socket (connect,
 *                 write, close) or a fifo (open write-only non-blocking,
 *                 write, close).  Returns 0 when the bytes were handed over,
 *                 or with why filled:
 *                 TRIGGER_ERR_LOOKUP  there is no endpoint to talk to; why
 *                     holds Postfix's warning text, "unable to look up
 *                     public/qmgr: No such file or directory" or
 *                     "public/qmgr is not a socket or a fifo" (Postfix logs
 *                     these as warnings)
 *                 TRIGGER_ERR_SEND    the endpoint is there but nobody took
 *                     the bytes: "connect to public/qmgr: Connection
 *                     refused", "open public/qmgr: No such device or
 *                     address" (no fifo reader), "write to ...: ..."
 *                     (Postfix does not log these)
 *
 * Connecting never waits: a listener whose backlog is full fails it
 * (TRIGGER_ERR_SEND, "Resource temporarily unavailable"), as in Postfix,
 * since such a service has wakeups waiting already; the write never blocks
 * (a full peer is a TRIGGER_ERR_SEND).  SIGPIPE is
 * neither raised nor left pending.  The bytes are sent as given: no NUL is
 * appended (Postfix 3.7 adds one on sockets; its readers ignore it, and
 * Postern's trigger readers must tolerate one from Postfix tools).
 */
#ifndef TRIGGER_H
#define TRIGGER_H

#include <stddef.h>

#include "lib/util/str.h"

#define TRIGGER_ERR_LOOKUP (-1)
#define TRIGGER_ERR_SEND   (-2)

int trigger_send(const char *, const void *, size_t, struct str *)
    __attribute__((warn_unused_result));

#endif
