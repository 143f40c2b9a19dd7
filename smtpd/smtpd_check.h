/*
 * smtpd_check - the restriction engine (smtpd_check.c) and the modules
 * that add restrictions to it: DNS-based ones (smtpd_dnsbl.c) and the
 * policy delegation client (smtpd_policy.c).
 *
 * Called by smtpd_proto.c at each stage; each returns NULL to go on, or
 * the SMTP reply to give ("554 5.7.1 <x>: Relay access denied"), already
 * logged as Postfix's "NOQUEUE: reject: ..." line.  The reply is owned by
 * the state and valid until the next check.  smtpd_delay_reject, the
 * client/helo/sender lists evaluated again at RCPT, smtpd_helo_required
 * and the access-denied-at-connect state are the engine's business.
 *
 * smtpd_check_init()               parse every restriction list and class
 *                                  (after the jail); bad lists warn here
 *                                  and give "451 4.3.5 Server
 *                                  configuration error" when reached
 * smtpd_check_connect(state)       smtpd_client_restrictions at connect
 *                                  (only when smtpd_delay_reject = no)
 * smtpd_check_denied(state)        after a reject at connect: the reply
 *                                  for every command but QUIT ("503 5.7.0
 *                                  Error: access denied for host[addr]"),
 *                                  else NULL
 * smtpd_check_helo(state, name)    at HELO/EHLO (state->where "EHLO" or
 *                                  "HELO" names the command in the log)
 * smtpd_check_mail(state, sender)  at MAIL (sender in internal form)
 * smtpd_check_rcpt(state, rcpt)    at RCPT, incl. smtpd_relay_restrictions
 *                                  and reject_unlisted_recipient
 * smtpd_check_vrfy(state, rcpt)    at VRFY
 * smtpd_check_data(state)          smtpd_data_restrictions at DATA/BDAT
 * smtpd_check_eod(state)           smtpd_end_of_data_restrictions
 * smtpd_check_etrn(state, domain)  smtpd_etrn_restrictions
 * smtpd_check_size(state, size)    enough queue space (queue_minfree),
 *                                  at MAIL before smtpd_check_mail
 * smtpd_check_rewrite(state)       true: local_header_rewrite_clients
 *                                  permits the client (rewrite_context)
 * smtpd_check_envelope(state, out) the envelope records the access maps
 *                                  asked for (FILTER, REDIRECT, BCC, HOLD,
 *                                  DISCARD flags), before the content
 * smtpd_check_prepend(state, out)  the PREPEND headers, before Received:
 * smtpd_check_reset(state)         forget per-message results (RSET, after
 *                                  DATA, errors)
 * smtpd_check_end(state)           free the per-session state
 *
 * For modules that implement restrictions (smtpd_dnsbl.c, smtpd_policy.c):
 *
 * A restriction returns SMTPD_CHECK_DUNNO (no decision), SMTPD_CHECK_OK
 * (permit: the list stops) or SMTPD_CHECK_REJECT (stop; the reply is set).
 *
 * smtpd_check_reject(state, what, code, dsn, fmt, ...)
 *          reject with the reply "code dsn text": applies warn_if_reject
 *          (logs "reject_warning", returns DUNNO), the defer_if_reject /
 *          defer_if_permit bookkeeping and soft_bounce, logs the
 *          "NOQUEUE: reject: STAGE from ...; from=<> to=<> proto= helo=<>"
 *          line, returns SMTPD_CHECK_REJECT
 * smtpd_check_defer_if_permit(state, what, code, dsn, fmt, ...)
 *          a temporary problem (DNS): remember a 4xx reply to give if the
 *          list ends up permitting; returns SMTPD_CHECK_DUNNO
 * smtpd_check_access_result(state, what, value, key, reply_name,
 *          reply_class)
 *          act on an access(5) result value (OK, REJECT text, 4NN/5NN
 *          text, DEFER, DISCARD, HOLD, PREPEND, REDIRECT, FILTER, BCC,
 *          DUNNO, restriction names and classes); used by
 *          check_*_access, the mx/ns access checks and policy replies
 *
 * smtpd_dnsbl.c:
 * smtpd_check_dns_arg(name)        true when restriction name takes one
 *                                  argument (reject_rbl_client d, ...)
 * smtpd_check_dns(state, what, name, arg)
 *          reject_rbl_client, reject_rhsbl_{client,reverse_client,helo,
 *          sender,recipient}, permit_dnswl_client, permit_rhswl_client,
 *          reject_unknown_{client_hostname,reverse_client_hostname,
 *          helo_hostname,sender_domain,recipient_domain},
 *          check_{client,reverse_client,helo,sender,recipient}_
 *          {mx,ns,a}_access; SMTPD_CHECK_NOT_MINE for other names
 * smtpd_policy.c:
 * smtpd_check_policy(state, what, service)  check_policy_service
 * smtpd_policy_end(state)          close policy connections (session end)
 */
#ifndef SMTPD_CHECK_H
#define SMTPD_CHECK_H

#include <stdbool.h>

#include "lib/util/str.h"
#include "lib/util/stream.h"
#include "smtpd/smtpd.h"

#define SMTPD_CHECK_NOT_MINE (-1)
#define SMTPD_CHECK_DUNNO    0
#define SMTPD_CHECK_OK       1
#define SMTPD_CHECK_REJECT   2

/* What is being checked: for replies, logs and table lookups. */
struct smtpd_check_what {
	const char *stage;     /* "CONNECT", "HELO", "MAIL", "RCPT", "DATA",
				  "END-OF-MESSAGE", "ETRN", "VRFY" */
	const char *list;      /* restriction list name, for warnings */
	const char *sender;    /* envelope sender (internal form) or NULL */
	const char *recipient; /* recipient (internal form) or NULL */
	const char *etrn;      /* ETRN domain or NULL */
	const char *helo;      /* HELO name (the one being checked at HELO)
				  or NULL */
};

const char *smtpd_check_connect(struct smtpd_state *);
const char *smtpd_check_denied(struct smtpd_state *);
const char *smtpd_check_helo(struct smtpd_state *, const char *);
const char *smtpd_check_mail(struct smtpd_state *, const char *);
const char *smtpd_check_rcpt(struct smtpd_state *, const char *);
const char *smtpd_check_vrfy(struct smtpd_state *, const char *);
const char *smtpd_check_data(struct smtpd_state *);
const char *smtpd_check_eod(struct smtpd_state *);
const char *smtpd_check_etrn(struct smtpd_state *, const char *);
const char *smtpd_check_size(struct smtpd_state *, long);
void smtpd_check_init(void);
bool smtpd_check_rewrite(struct smtpd_state *);
void smtpd_check_envelope(struct smtpd_state *, struct stream *);
void smtpd_check_prepend(struct smtpd_state *, struct stream *);
void smtpd_check_reset(struct smtpd_state *);
void smtpd_check_end(struct smtpd_state *);

int smtpd_check_reject(struct smtpd_state *, const struct smtpd_check_what *,
    int, const char *, const char *, ...) __attribute__((format(printf, 5, 6)));
int smtpd_check_defer_if_permit(struct smtpd_state *,
    const struct smtpd_check_what *, int, const char *, const char *, ...)
    __attribute__((format(printf, 5, 6)));
int smtpd_check_access_result(struct smtpd_state *,
    const struct smtpd_check_what *, const char *, const char *, const char *,
    const char *);

bool smtpd_check_dns_arg(const char *);
int smtpd_check_dns(struct smtpd_state *, const struct smtpd_check_what *,
    const char *, const char *);
int smtpd_check_policy(struct smtpd_state *, const struct smtpd_check_what *,
    const char *);
void smtpd_policy_end(struct smtpd_state *);

#endif
