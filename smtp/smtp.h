/*
 * smtp.h - the parts of the smtp/lmtp client that its modules share.
 *
 * smtp.c        main(), the delivery request, the walk over the servers
 * smtp_addr.c   next hop -> list of server addresses (MX, A/AAAA, unix)
 *   smtp_addr_list(req, list, why)  the servers for the request's next
 *                 hop and the fallback relays: DNS_OK, DNS_NOTFOUND (why:
 *                 a bounce reason with *dsn) or DNS_RETRY (why: defer)
 *   smtp_addr_free(list)
 * smtp_connect.c  one SMTP/LMTP session with one server
 *   smtp_session(state, addr)  a cached connection to addr, else
 *                 connect, greeting, EHLO, STARTTLS, AUTH; then
 *                 smtp_transaction(); records each recipient's outcome in
 *                 state; keeps the connection in scache when allowed
 *   smtp_session_cached(state, sess, addr, fd)  deliver over a cached
 *                 connection (sess holds its properties)
 * smtp_proto.c  the mail transaction and the helpers both files use
 *   smtp_proto_init()            open smtp_generic_maps (once)
 *   smtp_transaction(sess)       deliver the pending recipients, QUIT
 *   smtp_reply(sess, timeout)    read one reply: 0 (code, reply) or -1
 *   smtp_cmd(sess, timeout, cmd) send one command line (buffered)
 *   smtp_site_reply(sess, why)   the session failed with a server reply
 *   smtp_site_io(sess, while)    the session failed with an I/O error
 *   smtp_soften(dsn)             5.X.Y -> 4.X.Y
 *   smtp_fail_all(state, relay, dsn, why, hard)  every pending recipient
 *   smtp_fail_all_reply(..., reply)  the same with the server's reply
 *                                behind it (Diagnostic-Code: smtp; REPLY)
 *   smtp_reply_dsn(code, text, out)  the enhanced status code of a reply
 *   smtp_loop_check(sess)        the greeting/EHLO reply in sess->reply
 *                                names this host (SMTP to port 25 only)
 *   smtp_loop_fail(sess)         fail the session as a mail loop
 * smtp_body.c   the message content after DATA
 *   smtp_send_body(sess, downgrade)  0, -1 on a write error, -2 when the
 *                                queue file is bad, -3 when a smtp_*_checks
 *                                lookup failed
 * smtp_reuse.c  connection reuse through scache (smtp_connection_cache_*)
 *   smtp_reuse_init()               once, before the jail
 *   smtp_reuse_policy(state)        may this request fetch/store?
 *   smtp_reuse_find_dest(state, sess, addr)  a cached connection for the
 *                 next hop: fd (sess features and addr filled) or -1
 *   smtp_reuse_find_endp(state, sess, addr)  one to this address, or -1
 *   smtp_reuse_allowed(sess)        may the session be kept afterwards?
 *   smtp_reuse_save(sess)           hand it to scache; closes the stream
 * smtp_tls.c    the TLS client (smtp_tls_*)
 *   smtp_tls_init()                 once, before the jail
 *   smtp_tls_policy(state, addr, pol)  the level for this next hop;
 *                 with dane, the TLSA records of the server (RFC 7672);
 *                 pol->error with pol->why (or NULL): defer
 *   smtp_tls_start(sess, pol, why)  handshake on the session's stream:
 *                 0, or -1 with why (a Postfix reason) and *soft
 * smtp_tls_cache.c  the TLS session cache through tlsmgr(8)
 *   smtp_tls_cache_init(ctx)        with smtp_tls_init, when configured
 *   smtp_tls_cache_start(sess, pol, ...)  before the handshake: offer
 *                 the session cached for this connection's id
 *   smtp_tls_cache_allow(sess)      the policy check passed: cache its
 *                 sessions from now on
 *   smtp_tls_cache_free(ssl)        before SSL_free
 * smtp_sasl.c   the SASL client (PLAIN, LOGIN)
 *   smtp_sasl_init()
 *   smtp_sasl_passwd(state, sess, user, pass)  the credentials for this
 *                 server from smtp_sasl_password_maps: true when found
 *   smtp_sasl_auth(sess, user, pass, why)  0, or -1 with why
 * smtp_hbc.c    smtp_header_checks & co. on the content being sent
 *   smtp_hbc_init()                 open the tables (before the jail)
 *   smtp_hbc_new(&out, &ctx, qid, downgrade)  a stage that writes the
 *                 checked content through out(ctx, ...) (a mime_down_out_fn)
 *                 and replaces them with its own input; NULL (out and ctx
 *                 unchanged) when no table is configured; downgrade: its
 *                 input comes from mime_down
 *   smtp_hbc_update(h, type, p, n)  one record (a mime_down_out_fn):
 *                 0, or -1 once writing failed or a lookup failed
 *   smtp_hbc_finish(h)              end of the content: 0 or -1
 *   smtp_hbc_fail(sess)             defer the pending recipients for it
 *   smtp_hbc_done(h, ret)           free h (NULL ok); returns ret, or
 *                 -3 when ret is -1 because a table lookup failed
 *
 * The client is one program for the smtp and lmtp services: run as
 * "lmtp" (master.cf command name, or a link of that name) it speaks LMTP
 * and reads the lmtp_* parameters, otherwise SMTP and smtp_*.
 */
#ifndef SMTP_H
#define SMTP_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <openssl/ssl.h>

#include "lib/util/dns.h"
#include "lib/util/str.h"
#include "lib/util/stream.h"
#include "lib/mail/deliver.h"
#include "lib/mail/mime_down.h"
#include "lib/mail/params.h"

extern bool smtp_lmtp; /* speaking LMTP */

/* The smtp_NAME or lmtp_NAME parameter of the same meaning. */
#define SMTP_VAR(name) (smtp_lmtp ? var_lmtp_##name : var_smtp_##name)
#define SMTP_HELO_NAME (smtp_lmtp ? var_lmtp_lhlo_name : var_smtp_helo_name)
#define SMTP_HELO_TIMEOUT                                                      \
	(smtp_lmtp ? var_lmtp_lhlo_timeout : var_smtp_helo_timeout)
#define SMTP_DISCARD_EHLO                                                      \
	(smtp_lmtp ? var_lmtp_discard_lhlo_keywords                            \
		   : var_smtp_discard_ehlo_keywords)
#define SMTP_DISCARD_EHLO_MAPS                                                 \
	(smtp_lmtp ? var_lmtp_discard_lhlo_keyword_address_maps                \
		   : var_smtp_discard_ehlo_keyword_address_maps)

/* Limits of what a server may send us. */
#define SMTP_REPLY_LINE_MAX  2048 /* one reply line */
#define SMTP_REPLY_LINES_MAX 100  /* lines of one multi-line reply */

/* One server address to try. */
struct smtp_addr {
	char *host; /* name as logged ("mx.example.com", "127.0.0.1") */
	char *addr; /* printed address, or the UNIX-domain socket path */
	int family; /* AF_INET, AF_INET6, AF_UNIX */
	unsigned char bytes[16];
	int port;      /* host order; 0 for AF_UNIX */
	int pref;      /* MX preference, or -1 */
	char *dest;    /* the next hop it came from (TLS policy, SASL) */
	bool mx;       /* found by MX lookup (dest is a domain) */
	bool fallback; /* from smtp_fallback_relay */
	/* smtp_dns_support_level = dnssec: what DNSSEC validated (AD). */
	bool mx_secure;   /* the MX RRset (mx only) */
	bool addr_secure; /* this host's A/AAAA RRset */
};

struct smtp_addr_list {
	struct smtp_addr *a;
	size_t count, alloc;
};

/* TLS levels, in increasing order of what they demand. */
enum smtp_tls_level {
	SMTP_TLS_NONE,
	SMTP_TLS_MAY,
	SMTP_TLS_ENCRYPT,
	SMTP_TLS_FINGERPRINT,
	SMTP_TLS_HALF_DANE, /* dane, usable TLSA, insecure MX: "Trusted" */
	SMTP_TLS_DANE,      /* dane, usable TLSA, secure MX: "Verified" */
	SMTP_TLS_DANE_ONLY, /* as configured; resolved to DANE or an error */
	SMTP_TLS_VERIFY,
	SMTP_TLS_SECURE,
};

struct smtp_tls_policy {
	enum smtp_tls_level level;
	char *match;     /* verify/secure: names to match, or NULL */
	char *protocols; /* per-site protocols, or NULL */
	char *ciphers;   /* per-site cipher grade, or NULL */
	bool error;      /* the policy is broken: defer */
	char *why;       /* with error: the reason, or NULL (Postfix's generic) */
	struct dns_reply *tlsa; /* (half-)dane: the usable TLSA records */
};

/* The outcome of one recipient so far. */
struct smtp_rcpt_state {
	bool done;         /* final (sent or bounced) */
	bool accepted;     /* this session: RCPT got 2xx */
	struct str *dsn;   /* last soft failure: status */
	struct str *why;   /* its text, "" when none */
	struct str *relay; /* its relay */
	struct str *dtext; /* the server's reply behind why, "" when none */
};

/* One delivery request and what happened to it so far. */
struct smtp_state {
	struct deliver_request *req;
	int qfd;                    /* the queue file */
	struct smtp_rcpt_state *rs; /* per recipient */
	bool conn_done;             /* deliver_conn_done() called */
	size_t sessions;            /* connected sessions so far */
	bool last;                  /* trying the last server */
	bool best;                  /* trying a most preferred server */
	bool cache_fetch;           /* may take cached connections */
	bool cache_store;           /* may keep connections */
	struct str *dest_label;     /* the destination's cache label */
};

/* One connection to one server. */
struct smtp_session {
	struct smtp_state *state;
	struct smtp_addr *addr;
	struct stream *st;
	struct str *namaddr; /* "host[addr]" */
	struct str *relay;   /* "host[addr]:port" */
	/* What the server offers after EHLO. */
	bool esmtp, pipelining, eightbit, smtputf8, dsn, starttls, size;
	long size_limit;        /* SIZE, 0: none or not offered */
	struct str *auth_mechs; /* AUTH list, "" when none */
	SSL *ssl;
	bool tls_verified;
	/* The current reply. */
	int code;
	struct str *reply; /* lines joined by spaces */
	/* Connection reuse. */
	int conn_use;      /* this is the connection's Nth use */
	time_t conn_start; /* when it was connected */
	bool keep;         /* end in a clean state without QUIT */
	bool reusable;     /* ended clean and open: smtp_reuse_save() */
	bool io_failed;    /* ended by a lost connection or timeout */
};

/* smtp_addr.c */
int smtp_addr_list(struct smtp_state *, struct smtp_addr_list *, struct str *,
    struct str *);
void smtp_addr_free(struct smtp_addr_list *);
void smtp_addr_init(void);

/* smtp_connect.c */
void smtp_session(struct smtp_state *, struct smtp_addr *);
void smtp_session_cached(struct smtp_state *, struct smtp_session *,
    struct smtp_addr *, int);

/* smtp_proto.c */
void smtp_proto_init(void);
void smtp_transaction(struct smtp_session *);
int smtp_reply(struct smtp_session *, int);
int smtp_cmd(struct smtp_session *, int, const char *);
void smtp_site_reply(struct smtp_session *, const char *);
void smtp_site_io(struct smtp_session *, const char *);
void smtp_soften(struct str *);
void smtp_reply_dsn(int, const char *, struct str *);
void smtp_fail_all_reply(struct smtp_state *, const char *, const char *,
    const char *, bool, const char *);
void smtp_fail_all(struct smtp_state *, const char *, const char *,
    const char *, bool);
bool smtp_loop_check(const struct smtp_session *);
void smtp_loop_fail(struct smtp_session *);

/* smtp_reuse.c */
void smtp_reuse_init(void);
void smtp_reuse_policy(struct smtp_state *);
int smtp_reuse_find_dest(struct smtp_state *, struct smtp_session *,
    struct smtp_addr *);
int smtp_reuse_find_endp(struct smtp_state *, struct smtp_session *,
    const struct smtp_addr *);
bool smtp_reuse_allowed(const struct smtp_session *);
void smtp_reuse_save(struct smtp_session *);

/* smtp_tls.c */
void smtp_tls_init(void);
void smtp_tls_policy(struct smtp_addr *, struct smtp_tls_policy *);
void smtp_tls_policy_free(struct smtp_tls_policy *);
int smtp_tls_start(struct smtp_session *, const struct smtp_tls_policy *,
    struct str *);
void smtp_tls_stop(struct smtp_session *);

/* smtp_tls_cache.c: the TLS session cache (tlsmgr), see the file. */
void smtp_tls_cache_init(SSL_CTX *);
void smtp_tls_cache_start(struct smtp_session *,
    const struct smtp_tls_policy *, const char *, const char *,
    const char *const *, const char *);
void smtp_tls_cache_allow(struct smtp_session *);
void smtp_tls_cache_free(SSL *);

/* smtp_sasl.c */
void smtp_sasl_init(void);
bool smtp_sasl_passwd(struct smtp_session *, struct str *, struct str *);
int smtp_sasl_auth(struct smtp_session *, const char *, const char *,
    struct str *);

/* smtp_body.c */
int smtp_send_body(struct smtp_session *, bool);

/* smtp_hbc.c */
struct smtp_hbc;
void smtp_hbc_init(void);
struct smtp_hbc *smtp_hbc_new(mime_down_out_fn **, void **, const char *, bool);
int smtp_hbc_update(void *, int, const char *, size_t);
int smtp_hbc_finish(struct smtp_hbc *);
void smtp_hbc_fail(struct smtp_session *);
int smtp_hbc_done(struct smtp_hbc *, int);

#endif
