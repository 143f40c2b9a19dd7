/*
 * cleanup - turn a message from a client (pickup, later smtpd) into a
 * complete queue file in incoming/ (or hold/), then wake qmgr.
 * Run by master on public/cleanup, one client per process (DAEMON_SINGLE,
 * maxproc 0), as mail_owner; chroot allowed.
 * Reads the client's records (record.h), rewrites addresses through
 * trivial-rewrite and the canonical, masquerade and virtual alias tables,
 * adds missing headers, runs header_checks and body_checks, and replies
 * only after the file is durable (queue.h), so an acknowledged message
 * cannot be lost and a half one is never picked up.
 * Faces local users (through pickup): every record is bounded by the
 * record limit below, the message by message_size_limit, each header by
 * header_size_limit.
 *
 * Files: cleanup.c (the conversation), cleanup_envelope.c (envelope
 * records), cleanup_message.c (headers, body, extracted records),
 * cleanup_addr.c (address rewriting and recipients), cleanup_out.c (the
 * queue file), cleanup_checks.c (header/body check actions and logs).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "lib/util/alloc.h"
#include "lib/util/argv.h"
#include "lib/util/msg.h"
#include "lib/util/str.h"
#include "lib/util/stream.h"
#include "lib/mail/attr.h"
#include "lib/mail/cleanup_proto.h"
#include "lib/mail/daemon.h"
#include "lib/mail/params.h"
#include "lib/mail/queue.h"
#include "lib/mail/record.h"
#include "lib/mail/trigger.h"
#include "lib/mail/smtputf8.h"
#include "cleanup.h"

/*
 * A record from the client may be as long as line_length_limit (content
 * lines longer than that arrive in pieces), and never less than this, so
 * that a long recipient or attribute still fits with a small limit.
 */
#define CLEANUP_REC_MIN 4096

struct cleanup_config cleanup_cfg;

/* The name the log lines give the client: "host[addr]" or "local". */
const char *
cleanup_client(struct cleanup_state *s)
{
	if (s->client_name == NULL)
		return "local";
	str_fmt(s->buf2, "%s[%s]", s->client_name,
	    s->client_addr ? s->client_addr : "unknown");
	return str_ptr(s->buf2);
}

/*
 * A protocol violation: Postfix's "unexpected record" warnings.  The
 * conversation ends after the reply.
 */
static void
cleanup_bad(struct cleanup_state *s, const char *what, int type)
{
	if (type > 0)
		msg_warn("%s: %s record type %c from %s", str_ptr(s->queue_id),
		    what, type >= 32 && type < 127 ? type : '?',
		    cleanup_client(s));
	else
		msg_warn("%s: %s from %s", str_ptr(s->queue_id), what,
		    cleanup_client(s));
	s->status |= CLEANUP_STAT_BAD;
}

static struct cleanup_state *
cleanup_state_new(struct stream *client)
{
	struct cleanup_state *s = xcalloc(1, sizeof(*s));

	s->client = client;
	s->queue_id = str_new(QUEUE_ID_MAX);
	s->queue = QUEUE_INCOMING;
	s->fd = -1;
	s->reason = str_new(64);
	s->sender = str_new(64);
	s->fullname = str_new(64);
	s->rewrite_ctx = xstrdup("local");
	s->submit_uid = -1;
	s->orcpt = str_new(64);
	s->dsn_orcpt = str_new(64);
	s->dups = htable_new(64);
	s->msgid = str_new(64);
	s->xrcpt = argv_new();
	s->xrcpt_resent = argv_new();
	s->bcc = argv_new();
	s->hres.text = str_new(64);
	s->buf = str_new(256);
	s->buf2 = str_new(256);
	return s;
}

static void
cleanup_state_free(struct cleanup_state *s)
{
	s->dst = stream_close(s->dst);
	str_free(s->queue_id);
	str_free(s->reason);
	str_free(s->sender);
	str_free(s->fullname);
	free(s->first_rcpt);
	free(s->rewrite_ctx);
	free(s->client_name);
	free(s->client_addr);
	free(s->helo);
	free(s->proto);
	str_free(s->orcpt);
	str_free(s->dsn_orcpt);
	htable_free(s->dups, NULL);
	mime_free(s->mime);
	str_free(s->msgid);
	free(s->resent_msgid);
	argv_free(s->xrcpt);
	argv_free(s->xrcpt_resent);
	argv_free(s->bcc);
	str_free(s->redirect);
	str_free(s->filter);
	str_free(s->hres.text);
	str_free(s->buf);
	str_free(s->buf2);
	free(s);
}

/*
 * Read records until E, a protocol violation or the end of the client's
 * input.  After a content error (size, rejected content) the rest of the
 * message is read and dropped, so the client gets its reply; after a
 * protocol error nothing more is read.
 */
static bool
cleanup_read(struct cleanup_state *s)
{
	struct str *rec = str_new(256);
	size_t limit = (size_t)var_line_length_limit > CLEANUP_REC_MIN
			   ? (size_t)var_line_length_limit
			   : CLEANUP_REC_MIN;
	bool ok = false;
	int type;

	while ((s->status & CLEANUP_STAT_BAD) == 0) {
		type = rec_get(s->client, rec, limit);
		if (type < 0) {
			if (type == REC_TOOLONG)
				cleanup_bad(s, "record too long", 0);
			else if (type == REC_BADTYPE)
				cleanup_bad(s, "unknown record type", 0);
			else if (type == REC_TRUNC)
				cleanup_bad(s, "unexpected EOF in data", 0);
			else if (type == REC_EOF)
				/*
				 * The client went away between records: an
				 * SMTP client's RSET or lost connection
				 * after RCPT.  Postfix's cleanup says nothing
				 * (observed); smtpd logs the lost connection.
				 */
				s->status |= CLEANUP_STAT_BAD;
			else
				cleanup_bad(s, "read error or timeout", 0);
			break;
		}
		switch (s->part) {
		case CLEANUP_ENVELOPE:
			if (type == REC_TYPE_MESG) {
				cleanup_env_done(s);
				if ((s->status & CLEANUP_STAT_BAD) == 0) {
					s->part = CLEANUP_CONTENT;
					cleanup_content_start(s);
				}
			} else {
				cleanup_envelope(s, type, str_ptr(rec),
				    str_len(rec));
			}
			break;
		case CLEANUP_CONTENT:
			if (type == REC_TYPE_NORM || type == REC_TYPE_CONT) {
				cleanup_content(s, type, str_ptr(rec),
				    str_len(rec));
			} else if (type == REC_TYPE_XTRA) {
				cleanup_content_done(s);
				s->part = CLEANUP_EXTRACTED;
			} else {
				cleanup_bad(s, "unexpected", type);
			}
			break;
		case CLEANUP_EXTRACTED:
			if (type == REC_TYPE_END) {
				cleanup_extracted_done(s);
				s->part = CLEANUP_DONE;
				ok = true;
				goto out;
			}
			cleanup_extracted(s, type, str_ptr(rec), str_len(rec));
			break;
		case CLEANUP_DONE:
			break;
		}
	}
out:
	str_free(rec);
	return ok;
}

/* Tell qmgr that there is new mail; it may not be running. */
static void
cleanup_trigger_qmgr(void)
{
	struct str *why = str_new(64);

	if (trigger_send("public/qmgr", "W", 1, why) == TRIGGER_ERR_LOOKUP)
		msg_warn("%s", str_ptr(why));
	str_free(why);
}

static void
cleanup_service(struct stream *client, const char *service, char **argv)
{
	struct cleanup_state *s;
	struct attr_list *al;
	const struct cleanup_smtp *smtp;
	long flags;
	bool done = false;

	(void)service;
	(void)argv;
	stream_set_timeout(client, var_ipc_timeout * 1000);
	s = cleanup_state_new(client);
	al = attr_new();

	/* Greet with the queue ID, read the flags. */
	if (cleanup_out_open(s) < 0)
		goto out;
	attr_put(al, "protocol", CLEANUP_PROTOCOL);
	attr_put(al, "queue_id", str_ptr(s->queue_id));
	if (attr_write(client, al) < 0) {
		msg_warn("%s: write greeting to client: %m",
		    str_ptr(s->queue_id));
		cleanup_out_remove(s);
		goto out;
	}
	if (attr_read(client, al, 64) < 0 ||
	    attr_get_long(al, "flags", &flags) < 0 || flags < 0 ||
	    (flags & ~CLEANUP_FLAG_MASK_EXTERNAL) != 0) {
		cleanup_bad(s, "malformed flags request", 0);
		cleanup_out_remove(s);
		goto reply;
	}
	s->flags = (int)flags;
	if (s->flags & CLEANUP_FLAG_HOLD)
		s->hold = true;
	if (s->flags & CLEANUP_FLAG_DISCARD)
		s->discard = true;
	if (s->flags & CLEANUP_FLAG_SMTPUTF8)
		s->smtputf8 |= SMTPUTF8_FLAG_REQUESTED;

	/* The message; then make it durable, or remove what there is. */
	done = cleanup_read(s);
	if (done && s->status == 0 && !s->discard) {
		if (cleanup_out_finish(s) < 0)
			cleanup_out_remove(s);
	} else {
		cleanup_out_remove(s);
	}

reply:
	attr_reset(al);
	attr_put_long(al, "status", s->status);
	if (s->status != 0 && str_len(s->reason) == 0) {
		smtp = cleanup_stat_smtp(s->status);
		str_fmt(s->reason, "%s %s", smtp->dsn, smtp->text);
	}
	attr_put(al, "reason", str_ptr(s->reason));
	if (attr_write(client, al) < 0 && s->status == 0)
		msg_warn("%s: write reply to client: %m", str_ptr(s->queue_id));
	if (done && s->status == 0 && !s->discard && !s->hold)
		cleanup_trigger_qmgr();
out:
	attr_free(al);
	cleanup_state_free(s);
}

/* A class list such as canonical_classes: bits, warning on unknown names. */
int
cleanup_classes(const char *name, const char *value)
{
	static const struct {
		const char *word;
		int bit;
	} words[] = {
		{ "envelope_sender", CLEANUP_CLASS_ENV_FROM },
		{ "envelope_recipient", CLEANUP_CLASS_ENV_RCPT },
		{ "header_sender", CLEANUP_CLASS_HDR_FROM },
		{ "header_recipient", CLEANUP_CLASS_HDR_RCPT },
	};
	struct argv *a = argv_split(value, ", \t\r\n");
	int bits = 0;
	size_t i, j;

	for (i = 0; i < a->argc; i++) {
		for (j = 0; j < sizeof(words) / sizeof(words[0]); j++)
			if (strcasecmp(a->argv[i], words[j].word) == 0)
				break;
		if (j < sizeof(words) / sizeof(words[0]))
			bits |= words[j].bit;
		else
			msg_warn("unknown %s value \"%s\" ignored", name,
			    a->argv[i]);
	}
	argv_free(a);
	return bits;
}

/* Open the tables as root, before the jail (they may be root-only). */
static void
cleanup_pre_jail(const char *service, char **argv)
{
	(void)service;
	if (argv[0])
		msg_fatal("unexpected command-line argument: %s", argv[0]);
	cleanup_cfg.canonical =
	    maps_new("canonical_maps", var_canonical_maps, 0);
	cleanup_cfg.send_canon =
	    maps_new("sender_canonical_maps", var_sender_canonical_maps, 0);
	cleanup_cfg.rcpt_canon = maps_new("recipient_canonical_maps",
	    var_recipient_canonical_maps, 0);
	cleanup_cfg.virtual = maps_new("virtual_alias_maps",
	    var_virtual_alias_maps, 0);
	cleanup_cfg.canon_classes =
	    cleanup_classes("canonical_classes", var_canonical_classes);
	cleanup_cfg.send_canon_classes = cleanup_classes(
	    "sender_canonical_classes", var_sender_canonical_classes);
	cleanup_cfg.rcpt_canon_classes = cleanup_classes(
	    "recipient_canonical_classes", var_recipient_canonical_classes);
	cleanup_cfg.masq_classes =
	    cleanup_classes("masquerade_classes", var_masquerade_classes);
	cleanup_cfg.masq_domains =
	    argv_split(var_masquerade_domains, ", \t\r\n");
	cleanup_cfg.masq_exceptions =
	    argv_split(var_masquerade_exceptions, ", \t\r\n");
	cleanup_cfg.hbc = hbc_new(var_header_checks, var_mime_header_checks,
	    var_nested_header_checks, var_body_checks);
}

int
main(int argc, char **argv)
{
	static const struct daemon_spec spec = {
		.kind = DAEMON_SINGLE,
		.service = cleanup_service,
		.pre_jail = cleanup_pre_jail,
	};
	return daemon_main(argc, argv, &spec);
}
