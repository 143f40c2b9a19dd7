/*
 * smtpd_access - the table-driven restrictions of the engine: access(5)
 * lookups in Postfix's search orders and their results, the recipient
 * and sender tables of reject_unlisted_{recipient,sender}, and the
 * sender login checks.  Internal to smtpd_check.c; every function returns
 * SMTPD_CHECK_DUNNO, SMTPD_CHECK_OK or SMTPD_CHECK_REJECT.
 *
 * smtpd_access_init()              parse smtpd_restriction_classes and
 *                                  open the address tables
 * smtpd_access_table(spec)         the access table "type:name", opened
 *                                  once and kept (NULL: bad spec, warned)
 * smtpd_access_client(state, what, table, reverse)
 *                                  check_client_access: the client name
 *                                  and its parent domains, then the address
 *                                  and its network prefixes (reverse: the
 *                                  unverified name of check_reverse_client_
 *                                  hostname_access)
 * smtpd_access_domain(state, what, table, domain, reply_name, reply_class)
 *                                  a domain and its parents (HELO, ETRN)
 * smtpd_access_mail(state, what, table, addr, reply_class)
 *                                  an e-mail address: user+ext@domain,
 *                                  user@domain, domain (and parents),
 *                                  user+ext@, user@; "" is looked up as
 *                                  smtpd_null_access_lookup_key
 * smtpd_access_unlisted(state, what, addr, sender)
 *                                  reject_unlisted_recipient/sender
 * smtpd_access_login(state, what, sender, mode)
 *                                  reject_*sender_login_mismatch (mode:
 *                                  SMTPD_LOGIN_*)
 * smtpd_access_resolve(state, addr, reply)  canonicalize and resolve addr
 *                                  through trivial-rewrite: 0 or -1
 * smtpd_access_class(name)         the restriction list of class name, or
 *                                  NULL when name is not a class
 * smtpd_access_interfaces(state)   true: the client is one of this host's
 *                                  inet_interfaces addresses
 * smtpd_access_hostname(name)      RFC 1035 host name syntax
 * smtpd_access_literal(name)       an address literal "[...]"
 * smtpd_access_fqdn(addr)          user@host.domain or user@[literal]
 * smtpd_access_auth_dest(state, rcpt)  1: an authorized destination (local,
 *                                  virtual, relay_domains, not source-
 *                                  routed), 0: not, -1: trivial-rewrite
 *                                  trouble
 *
 * Also smtpd_check_rewrite, smtpd_check_size, smtpd_check_envelope and
 * smtpd_check_prepend of smtpd_check.h live in smtpd_access.c.
 */
#ifndef SMTPD_ACCESS_H
#define SMTPD_ACCESS_H

#include <stdbool.h>

#include "lib/util/argv.h"
#include "lib/mail/maps.h"
#include "lib/mail/tr_clnt.h"
#include "smtpd/smtpd.h"
#include "smtpd/smtpd_check.h"

/* The engine's per-session state (state->check). */
struct smtpd_check {
	struct str *reply;   /* the reply of the last check */
	char *denied;        /* rejected at connect: the session is over */
	bool warn_if_reject; /* the next restriction only warns */
	bool dip;            /* defer_if_permit is pending: dip_reply */
	struct str *dip_reply;
	bool dir; /* defer_if_reject is active: dir_reply */
	struct str *dir_reply;
	int depth;           /* nesting of classes and table results */
	bool rcpt_listed;    /* reject_unlisted_recipient ran already */
	bool sender_listed;  /* reject_unlisted_sender ran already */
	bool ill_pipelining; /* pipelined without permission (sticky) */
	/* actions for this message */
	bool discard;
	bool hold;
	char *filter;
	char *redirect;
	struct argv *bcc;
	struct argv *prepend;
};

#define SMTPD_LOGIN_ANY    0 /* reject_sender_login_mismatch */
#define SMTPD_LOGIN_AUTH   1 /* reject_authenticated_... */
#define SMTPD_LOGIN_UNAUTH 2 /* reject_unauthenticated_... */

void smtpd_access_init(void);
struct maps *smtpd_access_table(const char *);
int smtpd_access_client(struct smtpd_state *, const struct smtpd_check_what *,
    const char *, bool);
int smtpd_access_domain(struct smtpd_state *, const struct smtpd_check_what *,
    const char *, const char *, const char *, const char *);
int smtpd_access_mail(struct smtpd_state *, const struct smtpd_check_what *,
    const char *, const char *, const char *);
int smtpd_access_unlisted(struct smtpd_state *, const struct smtpd_check_what *,
    const char *, bool);
int smtpd_access_login(struct smtpd_state *, const struct smtpd_check_what *,
    const char *, int);
int smtpd_access_resolve(const char *, const char *, struct resolve_reply *);
struct argv *smtpd_access_class(const char *);
bool smtpd_access_interfaces(struct smtpd_state *);
bool smtpd_access_hostname(const char *);
bool smtpd_access_literal(const char *);
bool smtpd_access_fqdn(const char *);
int smtpd_access_auth_dest(struct smtpd_state *, const char *);

/* smtpd_check.c, for the access results */
struct smtpd_check *smtpd_check_state(struct smtpd_state *);
void smtpd_check_log(struct smtpd_state *, const struct smtpd_check_what *,
    const char *, const char *);
int smtpd_check_list(struct smtpd_state *, const struct smtpd_check_what *,
    struct argv *, const char *, const char *);
int smtpd_check_config_error(struct smtpd_state *,
    const struct smtpd_check_what *);

#endif
