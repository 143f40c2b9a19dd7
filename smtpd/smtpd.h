/*
 * smtpd - the state of one SMTP session, shared by the smtpd modules.
 *
 * smtpd_proto(state)          the whole conversation (smtpd_proto.c)
 * smtpd_log_disconnect(state) "disconnect from NAME[ADDR] ehlo=1 ..."
 * smtpd_check_init()          parse smtpd_relay_restrictions (smtpd_check.c)
 * smtpd_check_rcpt(state, rcpt, reply)  apply the relay restrictions to a
 *                             recipient: 0 (accept), or -1 with the SMTP
 *                             reply in reply ("454 4.7.1 <x>: Relay access
 *                             denied"), already logged as Postfix's
 *                             "NOQUEUE: reject: RCPT from ..." line
 * smtpd_check_rewrite(state)  true when local_header_rewrite_clients
 *                             permits the client: rewrite_context=local
 */
#ifndef SMTPD_H
#define SMTPD_H

#include <stdbool.h>

#include "lib/util/str.h"
#include "lib/util/stream.h"

/* The commands counted in the disconnect line, in Postfix's order. */
enum smtpd_cmd {
	SMTPD_CMD_HELO,
	SMTPD_CMD_EHLO,
	SMTPD_CMD_MAIL,
	SMTPD_CMD_RCPT,
	SMTPD_CMD_DATA,
	SMTPD_CMD_RSET,
	SMTPD_CMD_NOOP,
	SMTPD_CMD_VRFY,
	SMTPD_CMD_QUIT,
	SMTPD_CMD_UNKNOWN,
	SMTPD_CMD_COUNT,
};

struct smtpd_state {
	struct stream *st;
	struct str *name;    /* verified client host name, or "unknown" */
	struct str *addr;    /* client address */
	struct str *namaddr; /* "name[addr]" */
	bool trusted;        /* client in mynetworks */
	char *helo;          /* HELO/EHLO argument, or NULL */
	const char *proto;   /* "SMTP" or "ESMTP" */
	const char *where;   /* last command, for "lost connection after" */
	long data_bytes;     /* "after DATA (N bytes)" */
	bool in_data;
	int errors;
	int total[SMTPD_CMD_COUNT];
	int ok[SMTPD_CMD_COUNT];
	/* the mail transaction */
	char *sender; /* NULL: no MAIL yet */
	struct cleanup *cleanup;
	char *first_rcpt;
	int rcpt_count;
	long size;    /* MAIL SIZE= */
	int encoding; /* 0, 7 or 8 (BODY=) */
};

void smtpd_proto(struct smtpd_state *);
void smtpd_log_disconnect(struct smtpd_state *);
void smtpd_check_init(void);
int smtpd_check_rcpt(struct smtpd_state *, const char *, struct str *);
bool smtpd_check_rewrite(struct smtpd_state *);

#endif
