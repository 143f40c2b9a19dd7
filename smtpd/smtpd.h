/*
 * smtpd - the state of one SMTP session and the interfaces between the
 * smtpd modules.  Each module owns its file and the state fields marked
 * with its name; smtpd_proto.c calls the others at fixed points.
 *
 * smtpd.c          session set-up: peer name/address, connect/disconnect
 * smtpd_proto.c    the conversation: command loop and table, replies,
 *                  RSET/NOOP/VRFY/QUIT, limits, deadlines, disconnect line
 * smtpd_ehlo.c     HELO/EHLO and the EHLO keywords
 * smtpd_mail.c     MAIL, RCPT, ETRN and opening cleanup
 * smtpd_data.c     DATA and BDAT content
 * smtpd_guard.c    improper pipelining, forbidden commands, bare <LF>
 * smtpd_check.c    restriction lists and access maps (smtpd_check.h)
 * smtpd_dnsbl.c    DNS-based restrictions (smtpd_check.h)
 * smtpd_policy.c   check_policy_service (smtpd_check.h)
 * smtpd_tls.c      STARTTLS, wrapper mode, TLS in Received:/logs
 * smtpd_sasl.c     AUTH through Dovecot, MAIL AUTH=
 * smtpd_xclient.c  XCLIENT, XFORWARD, HAProxy PROXY protocol
 * smtpd_xparse.c   their parsers (attributes, PROXY headers)
 * smtpd_standalone.c  smtpd -S for sendmail -bs: mail through postdrop
 * smtpd_anvil.c    connection/rate limits through the anvil service
 *
 * Protocol (smtpd_proto.c):
 * smtpd_proto(state)              the whole conversation after connect
 * smtpd_reply(state, fmt, ...)    send one reply line (counts errors,
 *                                 sleeps after the soft error limit)
 * smtpd_log_disconnect(state)     "disconnect from NAME[ADDR] ehlo=1 ..."
 * smtpd_reset(state)              forget the mail transaction
 * smtpd_proto_name(state)         set state->proto from EHLO, TLS and AUTH
 *                                 (call after any of them changes)
 * smtpd_ehlo_discarded(state, kw)  true: EHLO keyword kw ("AUTH", "DSN")
 *                                 is withdrawn for this client
 *                                 (smtpd_discard_ehlo_keywords and
 *                                 smtpd_discard_ehlo_keyword_address_maps)
 *
 * Between smtpd_proto.c and smtpd_data.c (DATA and BDAT content):
 * smtpd_read(state, buf, n)       read up to n bytes (stream_read)
 * smtpd_pending(state)            input bytes already received (pushback
 *                                 and stream buffer): pipelining
 * smtpd_getline(state, line, limit, &crlf) one line or a piece of an
 *                                 overlong one (SMTPD_PIECE)
 * smtpd_data_deadline(state, n)   per-request deadline: n more content
 *                                 bytes earn n/smtpd_min_data_rate seconds
 * smtpd_cmd_data(state, arg, &ok) the DATA command and its content
 * smtpd_cmd_bdat(state, arg, &ok) the BDAT command and its chunk
 *                                 (both false: connection gone, logged by
 *                                 the caller from state->lost_rc)
 *
 * Commands (smtpd_ehlo.c, smtpd_mail.c; true: the command succeeded):
 * smtpd_helo(state, arg, esmtp)   HELO or EHLO
 * smtpd_ehlo_discard_init(state, log) the keywords withdrawn for this
 *                                 client (log: say so, at EHLO)
 * smtpd_mail(state, arg)          MAIL FROM and its parameters
 * smtpd_rcpt(state, arg)          RCPT TO and its parameters
 * smtpd_etrn(state, arg)          ETRN
 * smtpd_open_cleanup(state)       open cleanup, send the envelope
 * smtpd_valid_utf8(s, len)        well-formed UTF-8
 *
 * Defences (smtpd_guard.c; true: the session must end, replied):
 * smtpd_bad_pipelining(state, cmd, verb) input waiting behind a command
 *                                 that must end a group: logged once
 *                                 ("improper command pipelining after")
 * smtpd_early_talker(state)       input before the greeting
 * smtpd_forbidden(verb)           true: a smtpd_forbidden_commands verb
 * smtpd_bare_lf_command(state, where) a command ended by a bare <LF>
 *
 * Addresses (smtpd_addr.c):
 * smtpd_parse_addr(arg, addr, rest) the address in "FROM:<a> params" (arg
 *                                 after the colon): 0 with the internal form
 *                                 and the parameters, -1 bad syntax, -2 none
 *
 * TLS (smtpd_tls.c):
 * smtpd_tls_pre_jail()            as root: read keys and certificates
 * smtpd_tls_init()                after the jail: contexts, session cache
 * smtpd_tls_offer(state)          true: advertise STARTTLS
 * smtpd_tls_required(state)       true: plaintext client must STARTTLS
 *                                 first (commands other than the pre-TLS
 *                                 ones get "530 5.7.0 Must issue a
 *                                 STARTTLS command first")
 * smtpd_tls_wrapper(state)        wrapper mode: handshake before the
 *                                 greeting; -1 ends the session
 * smtpd_cmd_starttls(state, arg)  the STARTTLS command
 * smtpd_tls_received(state, buf)  the Received: header's TLS comment
 *                                 lines (empty without TLS)
 * smtpd_tls_end(state)            shut TLS down at session end
 *
 * SASL (smtpd_sasl.c):
 * smtpd_sasl_init()               after the jail
 * smtpd_sasl_mechs(state, buf)    the mechanisms to advertise now in
 *                                 "AUTH ..." (empty: no AUTH keyword)
 * smtpd_cmd_auth(state, arg)      the AUTH command
 * smtpd_sasl_mail_param(state, v) MAIL FROM's AUTH=v; 0 or -1 (replied)
 * smtpd_sasl_end(state)           forget the authentication
 *
 * XCLIENT/XFORWARD/PROXY (smtpd_xclient.c):
 * smtpd_xclient_ehlo(state, kw)   append the "XCLIENT ..." and "XFORWARD ..."
 *                                 EHLO keywords the client may use
 * smtpd_cmd_xclient(state, arg)   the XCLIENT command
 * smtpd_cmd_xforward(state, arg)  the XFORWARD command
 * smtpd_xforward_records(state, out) the client's log_* attributes and
 *                                 rewrite_context for cleanup: the
 *                                 forwarded ones after XFORWARD
 * smtpd_xforward_client(state, buf) append ", orig_queue_id=Q,
 *                                 orig_client=N[A]" for the "client=" line
 * smtpd_xforward_reset(state)     forget XFORWARD (end of transaction)
 * smtpd_xclient_init()            after the jail: the authorized lists
 * smtpd_proxy_protocol(state)     read the PROXY header when
 *                                 smtpd_upstream_proxy_protocol is set;
 *                                 replaces the client name/address; -1:
 *                                 bad header (warning logged), the caller
 *                                 greets with 421 and ends the session
 * Pure parsers (smtpd_xparse.c; fuzzed by fuzz/):
 * smtpd_xattr_parse(xforward, arg, xa, reply)  XCLIENT/XFORWARD
 *                                 attributes: 0, or -1 with the 501 reply
 * smtpd_xattr_free(xa)            free the parsed values
 * smtpd_proxy_parse(buf, len, hdr, why) a PROXY v1/v2 header: 0, or -1
 *                                 with Postfix's reason
 * smtpd_proxy_escape(out, buf, len) bytes as the haproxy warning shows them
 *
 * Session set-up (smtpd.c), for XCLIENT and PROXY:
 * smtpd_peer_trust(state)         recompute state->trusted (mynetworks)
 * smtpd_peer_rename(state)        look up the name of state->addr (new
 *                                 address): name, reverse_name, statuses,
 *                                 namaddr, trusted
 *
 * anvil (smtpd_anvil.c):
 * smtpd_anvil_connect(state, reply)  connection count/rate: 0, or -1 with
 *                                 the 421 reply in reply (logged)
 * smtpd_anvil_mail(state, reply)  message rate, at MAIL
 * smtpd_anvil_rcpt(state, reply)  recipient rate, at RCPT
 * smtpd_anvil_tls_check(state, reply)  at STARTTLS, before the 220: -1
 *                                 with "454 4.7.0 Error: too many new TLS
 *                                 sessions from ..." when the client is
 *                                 over its new-session rate (not counted)
 * smtpd_anvil_tls(state, reply)   after a handshake that did not resume a
 *                                 session (STARTTLS or wrapper mode):
 *                                 counts it; -1 with the 421 reply, and
 *                                 the session ends
 * smtpd_anvil_auth(state, reply)  AUTH rate, first thing at AUTH (Postfix
 *                                 checks it even before "503 5.5.1 Error:
 *                                 authentication not enabled")
 * smtpd_anvil_disconnect(state)   tell anvil the connection is gone
 */
#ifndef SMTPD_H
#define SMTPD_H

#include <stdbool.h>

#include "lib/util/argv.h"
#include "lib/util/str.h"
#include "lib/util/stream.h"
#include "lib/mail/ehlo_mask.h"

/*
 * The commands, in Postfix's command-table order: the disconnect line
 * counts them in this order.
 */
enum smtpd_cmd {
	SMTPD_CMD_HELO,
	SMTPD_CMD_EHLO,
	SMTPD_CMD_XCLIENT,
	SMTPD_CMD_XFORWARD,
	SMTPD_CMD_STARTTLS,
	SMTPD_CMD_AUTH,
	SMTPD_CMD_MAIL,
	SMTPD_CMD_RCPT,
	SMTPD_CMD_DATA,
	SMTPD_CMD_BDAT,
	SMTPD_CMD_RSET,
	SMTPD_CMD_NOOP,
	SMTPD_CMD_VRFY,
	SMTPD_CMD_ETRN,
	SMTPD_CMD_QUIT,
	SMTPD_CMD_UNKNOWN,
	SMTPD_CMD_COUNT,
};

/* Host name lookup results (name_status, reverse_name_status). */
#define SMTPD_PEER_OK   0
#define SMTPD_PEER_TEMP 1 /* temporary DNS failure */
#define SMTPD_PEER_PERM 2 /* no name, or it does not resolve back */

/* XCLIENT/XFORWARD attributes (smtpd_xparse.c). */
enum smtpd_xattr {
	SMTPD_XA_NAME,
	SMTPD_XA_ADDR,
	SMTPD_XA_PORT,
	SMTPD_XA_PROTO,
	SMTPD_XA_HELO,
	SMTPD_XA_REVERSE_NAME,
	SMTPD_XA_LOGIN,
	SMTPD_XA_DESTADDR,
	SMTPD_XA_DESTPORT,
	SMTPD_XA_IDENT,
	SMTPD_XA_SOURCE,
	SMTPD_XA_COUNT,
};

#define SMTPD_XV_VALUE   0   /* a value */
#define SMTPD_XV_UNAVAIL 1   /* [UNAVAILABLE] */
#define SMTPD_XV_TEMP    2   /* [TEMPUNAVAIL] */
#define SMTPD_XATTR_MAX  255 /* longest attribute value (Postfix) */

struct smtpd_xattrs {
	unsigned given;              /* 1 << SMTPD_XA_* */
	int status[SMTPD_XA_COUNT];  /* SMTPD_XV_* */
	char *value[SMTPD_XA_COUNT]; /* decoded, normalized */
};

/* A parsed PROXY header (smtpd_xparse.c). */
#define SMTPD_PROXY_MAX 536 /* bytes peeked for the header */

struct smtpd_proxy_hdr {
	size_t len; /* header bytes to consume */
	bool local; /* v2 LOCAL: keep the real peer */
	char client_addr[64];
	char server_addr[64];
	struct str *client_port; /* the caller's */
	struct str *server_port;
};

struct smtpd_tls;  /* smtpd_tls.c */
struct smtpd_sasl; /* smtpd_sasl.c */

struct smtpd_state {
	struct stream *st;
	/* the client (smtpd.c; XCLIENT and PROXY replace them) */
	struct str *name; /* verified client host name, or "unknown" */
	struct str
	    *reverse_name;   /* PTR name even if not verified, or "unknown" */
	struct str *addr;    /* client address */
	struct str *port;    /* client port, "unknown" when none */
	struct str *namaddr; /* "name[addr]" */
	int name_status;     /* SMTPD_PEER_* of name */
	int reverse_name_status; /* SMTPD_PEER_* of reverse_name */
	struct str *server_addr; /* our address, "" when none */
	struct str *server_port;
	bool trusted;    /* client in mynetworks */
	bool standalone; /* smtpd -S: no restrictions */
	bool local_pipe; /* sendmail -bs: a local user's script on a pipe */
	/* the conversation (smtpd_proto.c) */
	char *helo;        /* HELO/EHLO argument, or NULL */
	bool esmtp;        /* EHLO (not HELO) */
	const char *proto; /* "SMTP", "ESMTP", "ESMTPS", "ESMTPSA", ... */
	const char *where; /* last command, for "lost connection after" */
	long data_bytes;   /* "after DATA (N bytes)" */
	bool in_data;
	int lost_rc;    /* STREAM_EOF/STREAM_TIMEOUT when data code ends */
	int bdat;       /* SMTPD_BDAT_* */
	long bdat_size; /* raw bytes of the chunks so far */
	long msg_bytes; /* content bytes as Postfix counts them */
	bool bare_lf;   /* a bare <LF> in this message's content */
	bool pipelining_logged; /* "improper command pipelining" said */
	int ehlo_discard;      /* EHLO_MASK_* bits withdrawn for this client */
	long deadline_ms;      /* per-request deadline left (DATA/BDAT) */
	long long deadline_at; /* when deadline_ms was set (ms) */
	struct str *pushback;  /* input taken to log improper pipelining */
	struct str *bdat_line; /* a content line split between chunks */
	bool alive;            /* false: the connection is gone or closing */
	int errors;
	int junk; /* smtpd_junk_command_limit */
	int total[SMTPD_CMD_COUNT];
	int ok[SMTPD_CMD_COUNT];
	/* the mail transaction (smtpd_proto.c) */
	char *sender; /* NULL: no MAIL yet */
	struct cleanup *cleanup;
	char *queue_id; /* once cleanup is open */
	char *first_rcpt;
	int rcpt_count;
	long size;    /* MAIL SIZE= */
	int encoding; /* 0, 7 or 8 (BODY=) */
	bool smtputf8;
	int dsn_ret; /* DSN RET= (DSN_RET_*), 0 none */
	char *dsn_envid;
	int rcpt_overshoot; /* RCPTs past smtpd_recipient_limit */
	/* restrictions (smtpd_check.c) */
	struct smtpd_check *check;
	/* TLS (smtpd_tls.c): NULL in plaintext */
	struct smtpd_tls *tls;
	/* SASL (smtpd_sasl.c) */
	struct smtpd_sasl *sasl;
	char *sasl_method; /* NULL: not authenticated */
	char *sasl_username;
	char *sasl_sender; /* MAIL FROM AUTH= */
	/* XCLIENT/XFORWARD (smtpd_xclient.c) */
	struct smtpd_xforward *xforward; /* NULL: none */
	/* anvil (smtpd_anvil.c) */
	bool anvil_connected; /* anvil was told of this connection */
	char *anvil_addr;     /* ... under this address */
	bool anvil_exempt;    /* stand-alone or XCLIENT proxy: no limits */
};

/* state->bdat */
#define SMTPD_BDAT_NONE  0 /* no BDAT in this transaction */
#define SMTPD_BDAT_OK    1 /* chunks accepted so far */
#define SMTPD_BDAT_ERROR 2 /* a chunk failed: discard until LAST */

/* smtpd_getline() result besides the ones of stream.h */
#define SMTPD_PIECE 1 /* a piece of a longer line; more follows */

/* smtpd_proto.c */
void smtpd_proto(struct smtpd_state *);
bool smtpd_ehlo_discarded(struct smtpd_state *, const char *);
size_t smtpd_pending(struct smtpd_state *);
ssize_t smtpd_read(struct smtpd_state *, void *, size_t);
int smtpd_getline(struct smtpd_state *, struct str *, size_t, bool *);
void smtpd_data_deadline(struct smtpd_state *, long);
int smtpd_open_cleanup(struct smtpd_state *);
void smtpd_reply(struct smtpd_state *, const char *, ...)
    __attribute__((format(printf, 2, 3)));
void smtpd_log_disconnect(struct smtpd_state *);
void smtpd_reset(struct smtpd_state *);
void smtpd_proto_name(struct smtpd_state *);

/* Bytes of unexpected input in the "improper command pipelining" line. */
#define SMTPD_PIPELINING_LOG 100

/* smtpd_ehlo.c */
void smtpd_ehlo_discard_init(struct smtpd_state *, bool);
bool smtpd_helo(struct smtpd_state *, const char *, bool);

/* smtpd_mail.c */
bool smtpd_valid_utf8(const unsigned char *, size_t);
bool smtpd_mail(struct smtpd_state *, const char *);
bool smtpd_rcpt(struct smtpd_state *, const char *);
bool smtpd_etrn(struct smtpd_state *, const char *);

/* smtpd_guard.c */
bool smtpd_bad_pipelining(struct smtpd_state *, int, const char *);
bool smtpd_early_talker(struct smtpd_state *);
bool smtpd_forbidden(const char *);
bool smtpd_bare_lf_command(struct smtpd_state *, const char *);

/* smtpd_data.c */
bool smtpd_cmd_data(struct smtpd_state *, const char *, bool *);
bool smtpd_cmd_bdat(struct smtpd_state *, const char *, bool *);

/* smtpd_addr.c */
int smtpd_parse_addr(const char *, struct str *, const char **);

/* smtpd_tls.c */
void smtpd_tls_pre_jail(void);
void smtpd_tls_init(void);
bool smtpd_tls_offer(struct smtpd_state *);
bool smtpd_tls_required(struct smtpd_state *);
int smtpd_tls_wrapper(struct smtpd_state *);
bool smtpd_cmd_starttls(struct smtpd_state *, const char *);
void smtpd_tls_received(struct smtpd_state *, struct str *);
void smtpd_tls_end(struct smtpd_state *);

/* smtpd_sasl.c */
void smtpd_sasl_init(void);
void smtpd_sasl_mechs(struct smtpd_state *, struct str *);
bool smtpd_cmd_auth(struct smtpd_state *, const char *);
int smtpd_sasl_mail_param(struct smtpd_state *, const char *);
void smtpd_sasl_end(struct smtpd_state *);

/* smtpd_xclient.c */
void smtpd_xclient_ehlo(struct smtpd_state *, struct argv *);
bool smtpd_cmd_xclient(struct smtpd_state *, const char *);
bool smtpd_cmd_xforward(struct smtpd_state *, const char *);
void smtpd_xforward_records(struct smtpd_state *, struct stream *);
void smtpd_xforward_client(struct smtpd_state *, struct str *);
void smtpd_xforward_reset(struct smtpd_state *);
void smtpd_xclient_init(void);
int smtpd_proxy_protocol(struct smtpd_state *);

/* smtpd_xparse.c */
int smtpd_xattr_parse(bool, const char *, struct smtpd_xattrs *, struct str *)
    __attribute__((warn_unused_result));
void smtpd_xattr_free(struct smtpd_xattrs *);
int smtpd_proxy_parse(const char *, size_t, struct smtpd_proxy_hdr *,
    const char **) __attribute__((warn_unused_result));
void smtpd_proxy_escape(struct str *, const char *, size_t);

/* smtpd_standalone.c: smtpd -S on a pipe (sendmail -bs) */
int smtpd_standalone_begin(struct stream *);
void smtpd_standalone_end(void);

/* smtpd.c */
void smtpd_peer_trust(struct smtpd_state *);
void smtpd_peer_rename(struct smtpd_state *);

/* smtpd_anvil.c */
int smtpd_anvil_connect(struct smtpd_state *, struct str *);
int smtpd_anvil_mail(struct smtpd_state *, struct str *);
int smtpd_anvil_rcpt(struct smtpd_state *, struct str *);
int smtpd_anvil_tls_check(struct smtpd_state *, struct str *);
int smtpd_anvil_tls(struct smtpd_state *, struct str *);
int smtpd_anvil_auth(struct smtpd_state *, struct str *);
void smtpd_anvil_disconnect(struct smtpd_state *);

#endif
