/*
 * sasl_dovecot - the server side of SASL through Dovecot's authentication
 * protocol (the auth-client socket, protocol version 1), as Postfix's
 * smtpd speaks it.  One connection per SMTP session; sequential, with
 * a timeout on every wait; lines from Dovecot are bounded by
 * SASL_DOVECOT_LINE_MAX.
 *
 * sasl_dovecot_open(path)         connect ("unix:/path", "/path", a path
 *                                 relative to the working directory, or
 *                                 "inet:host:port") and read the handshake
 *                                 (VERSION, MECH..., DONE); NULL on
 *                                 failure, with Postfix's warning logged
 * sasl_dovecot_close(d)           NULL ok; returns NULL
 * sasl_dovecot_mechs(d, opts, out) the mechanisms (space-separated, in
 *                                 Dovecot's order) whose properties pass
 *                                 the security options opts (SASL_SEC_*)
 * sasl_dovecot_has_mech(d, opts, name) that list holds name (any case)
 * sasl_dovecot_start(d, req, reply) send AUTH for req, read the answer
 * sasl_dovecot_cont(d, resp, reply) send CONT with the client's response
 * sasl_dovecot_username(d)        user= of the last OK/FAIL, or NULL
 *
 * start and cont return SASL_DOVECOT_OK (authenticated), _CONT (reply
 * holds the base64 challenge), _FAIL or _TEMP (reply holds the reason,
 * possibly empty).  The caller checks that the mechanism is listed and
 * that client data is base64 before passing it.  A connection found
 * closed when sending AUTH is reopened once, as Postfix does; a failed
 * reconnection keeps the mechanism list.
 *
 * Pure parsers, for tests:
 * sasl_dovecot_sec_opts(value, &opts, bad) parse smtpd_sasl_security_
 *                                 options: 0, or -1 with the unknown word
 *                                 in bad
 * sasl_dovecot_mech_props(props)  the SASL_SEC_* of a MECH line's flags
 * sasl_dovecot_reply(line, id, reply, user, &have_user) one answer line:
 *                                 its kind, or -1 when it is not an answer
 *                                 to request id
 * sasl_dovecot_base64_ok(s)       only base64 characters
 */
#ifndef SASL_DOVECOT_H
#define SASL_DOVECOT_H

#include <stdbool.h>

#include "lib/util/str.h"

/* Longest line accepted from Dovecot, bytes. */
#define SASL_DOVECOT_LINE_MAX 65536

/* Every wait for Dovecot, as Postfix's AUTH_TIMEOUT. */
#define SASL_DOVECOT_TIMEOUT_MS 10000

/* Security properties: mechanisms with a "no" property are excluded. */
#define SASL_SEC_NOPLAINTEXT     (1 << 0)
#define SASL_SEC_NOACTIVE        (1 << 1)
#define SASL_SEC_NODICTIONARY    (1 << 2)
#define SASL_SEC_NOANONYMOUS     (1 << 3)
#define SASL_SEC_FORWARD_SECRECY (1 << 4)
#define SASL_SEC_MUTUAL_AUTH     (1 << 5)
#define SASL_SEC_PRIVATE         (1 << 6) /* Dovecot: never offer */
#define SASL_SEC_NEGATIVE                                                      \
	(SASL_SEC_NOPLAINTEXT | SASL_SEC_NOACTIVE | SASL_SEC_NODICTIONARY |    \
	    SASL_SEC_NOANONYMOUS)
#define SASL_SEC_POSITIVE (SASL_SEC_FORWARD_SECRECY | SASL_SEC_MUTUAL_AUTH)

enum {
	SASL_DOVECOT_OK,
	SASL_DOVECOT_CONT,
	SASL_DOVECOT_FAIL,
	SASL_DOVECOT_TEMP,
};

/* One authentication request. */
struct sasl_dovecot_req {
	const char *mech;                      /* as advertised (upper case) */
	const char *service;                   /* smtpd_sasl_service */
	const char *lip, *rip, *lport, *rport; /* "" or NULL: left out */
	bool secured;                          /* TLS */
	const char *resp; /* initial response (base64), or NULL */
};

struct sasl_dovecot;

struct sasl_dovecot *sasl_dovecot_open(const char *);
struct sasl_dovecot *sasl_dovecot_close(struct sasl_dovecot *);
void sasl_dovecot_mechs(struct sasl_dovecot *, int, struct str *);
bool sasl_dovecot_has_mech(struct sasl_dovecot *, int, const char *);
int sasl_dovecot_start(struct sasl_dovecot *, const struct sasl_dovecot_req *,
    struct str *);
int sasl_dovecot_cont(struct sasl_dovecot *, const char *, struct str *);
const char *sasl_dovecot_username(struct sasl_dovecot *);

int sasl_dovecot_sec_opts(const char *, int *, struct str *)
    __attribute__((warn_unused_result));
int sasl_dovecot_mech_props(const char *);
int sasl_dovecot_reply(const char *, unsigned, struct str *, struct str *,
    bool *) __attribute__((warn_unused_result));
bool sasl_dovecot_base64_ok(const char *);

#endif
