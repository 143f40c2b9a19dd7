/*
 * deliver_serve - the part every delivery agent that reads the message
 * shares (local, virtual, pipe, smtp/lmtp): one delivery request from
 * qmgr on st.
 *
 * deliver_serve(st, relay, fn, ctx)
 *     read the request (within ipc_timeout), open its queue file read-only
 *     without following symlinks and call fn(req, qfd, ctx, why); then
 *     send qmgr the reply.  When the file cannot be opened, or fn returns
 *     -1 (content it cannot read, with why), the agent warns "QID: cannot
 *     read queue file PATH: WHY" and every recipient is deferred (fn must
 *     return -1 only before it reported any recipient) (4.3.0,
 *     "cannot read queue file", relay=relay; NULL: none).  A request that
 *     cannot be read is a warning and no reply.
 */
#ifndef DELIVER_SERVE_H
#define DELIVER_SERVE_H

#include "lib/util/str.h"
#include "lib/util/stream.h"
#include "lib/mail/deliver.h"

typedef int (
    *deliver_serve_fn)(struct deliver_request *, int, void *, struct str *);

void deliver_serve(struct stream *, const char *, deliver_serve_fn, void *);

#endif
