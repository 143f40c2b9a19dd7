/*
 * anvil_clnt - the client side of the anvil service (Postfix's anvil(8)):
 * per-client connection counts and event rates, asked by smtpd.
 *
 * anvil_clnt_connect(svc, addr, &count, &rate)  a new connection from
 *                         addr to service svc: 0 with the client's open
 *                         connections (this one included) and its
 *                         connection rate, or -1 (anvil unavailable)
 * anvil_clnt_disconnect(svc, addr)  that connection is gone: 0 or -1
 * anvil_clnt_message(svc, addr, &rate)    count a MAIL; its message rate
 * anvil_clnt_recipient(svc, addr, &rate)  count a RCPT; its recipient rate
 * anvil_clnt_newtls(svc, addr, &rate)     count a new (not resumed) TLS
 *                         session; its new-session rate
 * anvil_clnt_newtls_report(svc, addr, &rate)  that rate, not counting
 * anvil_clnt_auth(svc, addr, &rate)       count an AUTH; its AUTH rate
 * anvil_clnt_lookup(svc, addr, &counts)   every counter, changing nothing
 * anvil_clnt_close()      drop the connection (tests, exit)
 *
 * A rate is the number of events in the client's current window of
 * anvil_rate_time_unit.  Every function returns 0, or -1 when anvil cannot
 * be reached or refuses (callers then allow: a missing anvil must not stop
 * mail).  The ident anvil counts under is "svc:addr", as Postfix's.
 *
 * One connection to private/anvil is opened on first use and kept
 * (smtpd keeps it across sessions); anvil forgets a connection's open
 * counts when it closes, so a crashed smtpd leaves nothing behind.  Like
 * Postfix's attribute client, a failed request is tried once more after a
 * second, with Postfix's warnings: "connect to private/anvil: REASON" at
 * each failed connect and "problem talking to server private/anvil:
 * REASON" (on the first failure only when the reason is not a vanished
 * socket or a dropped connection, which a retry mends silently).
 *
 * The conversation (attr.h lists over private/anvil):
 *   server -> client  protocol=anvil_protocol            (once, on connect)
 *   client -> server  request=connect ident=I
 *   server -> client  status=S count=N rate=N
 *   client -> server  request=disconnect ident=I   -> status=S
 *   client -> server  request=message|recipient|newtls|newtls_report|auth
 *                     ident=I                      -> status=S rate=N
 *   client -> server  request=lookup ident=I
 *   server -> client  status=S count=N rate=N mail=N rcpt=N newtls=N auth=N
 * status is ANVIL_STAT_OK, or ANVIL_STAT_FAIL (table full, bad request).
 * Values are at most ANVIL_VALUE_MAX bytes.
 */
#ifndef ANVIL_CLNT_H
#define ANVIL_CLNT_H

#define ANVIL_PROTOCOL  "anvil_protocol"
#define ANVIL_SERVICE   "anvil"
#define ANVIL_STAT_OK   0
#define ANVIL_STAT_FAIL (-1)
#define ANVIL_VALUE_MAX 1024 /* a service name and an address */

struct anvil_counts {
	int count; /* open connections */
	int rate;  /* connections */
	int mail;  /* MAIL commands */
	int rcpt;  /* RCPT commands */
	int ntls;  /* new TLS sessions */
	int auth;  /* AUTH commands */
};

int anvil_clnt_connect(const char *, const char *, int *, int *);
int anvil_clnt_disconnect(const char *, const char *);
int anvil_clnt_message(const char *, const char *, int *);
int anvil_clnt_recipient(const char *, const char *, int *);
int anvil_clnt_newtls(const char *, const char *, int *);
int anvil_clnt_newtls_report(const char *, const char *, int *);
int anvil_clnt_auth(const char *, const char *, int *);
int anvil_clnt_lookup(const char *, const char *, struct anvil_counts *);
void anvil_clnt_close(void);

#endif
