/*
 * trw - trivial-rewrite's internal interfaces.
 *
 * trw_rewrite(rule, addr, out)  rewrite an internal-form address with the
 *                         "local" or "remote" context; -1 for an unknown
 *                         rule (Postfix: "unknown context")
 * trw_rewrite_context(addr, origin, domain)  the canonical-form rules with
 *                         an explicit origin and domain (used by resolve)
 * trw_ops_visible(addr, dequoted)  are %, ! and @ in the localpart routing
 *                         operators (unquoted localpart, or dequoted)?
 * trw_resolve_init()      open the domain lists and tables (before the jail)
 * trw_resolve(sender, addr, reply)  the delivery route of a recipient
 */
#ifndef TRW_H
#define TRW_H

#include <stdbool.h>

#include "lib/util/str.h"
#include "lib/mail/tr_clnt.h"

int trw_rewrite(const char *, const char *, struct str *);
void trw_rewrite_context(struct str *, const char *, const char *);
bool trw_ops_visible(const char *, bool);
void trw_resolve_init(void);
void trw_resolve(const char *, const char *, struct resolve_reply *);

#endif
