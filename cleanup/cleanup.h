/*
 * cleanup.h - the state of one message that cleanup is receiving, shared by
 * the files of the cleanup program.
 *
 * cleanup_envelope(s, type, data, len)  one envelope record (cleanup_envelope.c)
 * cleanup_env_done(s)                   the M record arrived: write what the
 *                                       envelope still owes
 * cleanup_content(s, type, data, len)   one N/L record (cleanup_message.c)
 * cleanup_content_done(s)               the X record arrived
 * cleanup_extracted(s, type, data, len) one record after X
 * cleanup_extracted_done(s)             the E record arrived: write our own
 *                                       extracted records and E
 * cleanup_recipient(s, addr, orcpt, dsn_orcpt, notify, extracted)
 *                                       rewrite, map, expand, deduplicate and
 *                                       write one recipient (cleanup_addr.c)
 * cleanup_rewrite(s, ctx, addr, class)  rewrite one address in place for an
 *                                       address class CLEANUP_CLASS_*: 0 or -1
 *                                       (status set)
 * cleanup_header_addr(s, name, value, out)  rewrite every address of an
 *                                       address header value
 * cleanup_out_*()                       queue file writing (cleanup_out.c)
 * cleanup_act_*()                       header/body check actions and their log
 *                                       lines (cleanup_checks.c)
 */
#ifndef CLEANUP_H
#define CLEANUP_H

#include <sys/types.h>
#include <stdbool.h>
#include <stddef.h>

#include "lib/util/argv.h"
#include "lib/util/htable.h"
#include "lib/util/str.h"
#include "lib/util/stream.h"
#include "lib/mail/hbc.h"
#include "lib/mail/maps.h"
#include "lib/mail/mime.h"

/* Address classes (canonical_classes, masquerade_classes). */
#define CLEANUP_CLASS_ENV_FROM (1 << 0) /* envelope_sender */
#define CLEANUP_CLASS_ENV_RCPT (1 << 1) /* envelope_recipient */
#define CLEANUP_CLASS_HDR_FROM (1 << 2) /* header_sender */
#define CLEANUP_CLASS_HDR_RCPT (1 << 3) /* header_recipient */

/* Which part of the conversation we are in. */
enum cleanup_part {
	CLEANUP_ENVELOPE,
	CLEANUP_CONTENT,
	CLEANUP_EXTRACTED,
	CLEANUP_DONE
};

/* Headers seen (bits of seen). */
#define SEEN_FROM         (1 << 0)
#define SEEN_DATE         (1 << 1)
#define SEEN_MSGID        (1 << 2)
#define SEEN_DEST         (1 << 3) /* To, Cc, Bcc */
#define SEEN_RESENT       (1 << 4) /* any Resent- header */
#define SEEN_RESENT_FROM  (1 << 5)
#define SEEN_RESENT_DATE  (1 << 6)
#define SEEN_RESENT_MSGID (1 << 7)
#define SEEN_RESENT_DEST  (1 << 8)

struct cleanup_state {
	struct stream *client;
	const char *client_desc; /* for warnings: "service cleanup" ... */

	/* The queue file. */
	struct str *queue_id;
	const char *queue; /* QUEUE_INCOMING or QUEUE_HOLD */
	int fd;
	struct stream *dst;
	off_t offset;      /* bytes written so far */
	off_t size_offset; /* file offset of the size record's data */
	long data_offset;  /* file offset after the M record */
	long content_size; /* content bytes as delivered */
	long segment_size; /* record bytes from data_offset to the X record */
	long act_size;     /* content bytes as received */
	long rcpt_count;
	long qmgr_flags;
	long smtputf8;      /* SMTPUTF8_FLAG_* (lib/mail/smtputf8.h) */
	long utf8_seen;     /* SMTPUTF8_FLAG_HEADER/_SENDER/_RECIPIENT */

	/* Outcome so far. */
	int flags;  /* CLEANUP_FLAG_* and CLEANUP_XFLAG_* */
	int status; /* CLEANUP_STAT_* bits */
	struct str *reason;
	bool hold, discard;
	enum cleanup_part part;

	/* Envelope. */
	bool have_time, have_sender;
	bool own_time;      /* T written by cleanup, not the client */
	bool env_notes;     /* trace_flags and W written (cleanup_env_notes) */
	long arrival;       /* seconds */
	struct str *sender; /* internal form, rewritten */
	struct str *fullname;
	char *first_rcpt;    /* for log lines: to=<...> */
	char *rewrite_ctx;   /* "local" or "remote" */
	const char *hdr_ctx; /* header rewriting: "local", "remote" or NULL */
	char *client_name, *client_addr, *helo, *proto;
	long submit_uid;   /* -1: not a local submission */
	struct str *orcpt; /* O for the next R */
	struct str *dsn_orcpt;
	long dsn_notify;
	bool have_orcpt;
	struct htable *dups;
	size_t dup_count;

	/* Content. */
	struct mime *mime;
	int seen;
	int hops;
	bool in_header;
	long body_bytes; /* body bytes looked at by body_checks */
	struct str *msgid;
	char *resent_msgid;
	struct argv *xrcpt;         /* -t: To/Cc/Bcc addresses */
	struct argv *xrcpt_resent;  /* -t: Resent-To/Cc/Bcc addresses */
	struct argv *extracted_out; /* r, e records found in headers: "r..." */

	/* Results of checks. */
	struct str *redirect;
	struct str *filter;
	struct argv *bcc;
	struct hbc_result hres;
	bool checks_done; /* REDIRECT or PASS: no more inspection */

	/* Scratch. */
	struct str *buf, *buf2;
};

/* Tables and settings opened once per process (cleanup.c). */
struct cleanup_config {
	struct maps *canonical, *send_canon, *rcpt_canon, *virtual;
	int canon_classes, send_canon_classes, rcpt_canon_classes;
	int masq_classes;
	struct argv *masq_domains, *masq_exceptions;
	struct hbc *hbc;
};

extern struct cleanup_config cleanup_cfg;

/* cleanup.c */
const char *cleanup_client(struct cleanup_state *);

/* cleanup_envelope.c */
void cleanup_envelope(struct cleanup_state *, int, const char *, size_t);
void cleanup_env_done(struct cleanup_state *);

/* cleanup_message.c */
void cleanup_content_start(struct cleanup_state *);
void cleanup_content(struct cleanup_state *, int, const char *, size_t);
void cleanup_content_done(struct cleanup_state *);
void cleanup_extracted(struct cleanup_state *, int, const char *, size_t);
void cleanup_extracted_done(struct cleanup_state *);

/* cleanup_addr.c */
int cleanup_rewrite(struct cleanup_state *, const char *, struct str *, int);
void cleanup_recipient(struct cleanup_state *, const char *, const char *,
    const char *, long);
void cleanup_header_addr(struct cleanup_state *, const char *, int,
    struct str *);
int cleanup_classes(const char *, const char *);

/* cleanup_out.c */
int cleanup_out_open(struct cleanup_state *);
void cleanup_out(struct cleanup_state *, int, const char *, size_t);
void cleanup_out_str(struct cleanup_state *, int, const char *);
void cleanup_out_fmt(struct cleanup_state *, int, const char *, ...)
    __attribute__((format(printf, 3, 4)));
void cleanup_out_line(struct cleanup_state *, const char *, size_t);
void cleanup_out_header(struct cleanup_state *, const char *, size_t);
int cleanup_out_finish(struct cleanup_state *);
void cleanup_out_remove(struct cleanup_state *);
void cleanup_fail(struct cleanup_state *, int, const char *, ...)
    __attribute__((format(printf, 3, 4)));

/* cleanup_checks.c */
bool cleanup_check_header(struct cleanup_state *, int, struct str *);
bool cleanup_check_body(struct cleanup_state *, const char *, size_t);
void cleanup_act_log(struct cleanup_state *, const char *, const char *,
    const char *, size_t, const char *);

#endif
