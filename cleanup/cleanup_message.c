/*
 * cleanup_message - the content of a message and the extracted records
 * after it: headers through the MIME parser (mime.h), header rewriting,
 * the headers Postfix drops and adds, sendmail -t recipients, hop
 * counting, body lines, and the X ... E segment.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "lib/util/alloc.h"
#include "lib/util/argv.h"
#include "lib/util/msg.h"
#include "lib/util/str.h"
#include "lib/mail/addr.h"
#include "lib/mail/cleanup_proto.h"
#include "lib/mail/mail_date.h"
#include "lib/mail/mime.h"
#include "lib/mail/params.h"
#include "lib/mail/queue.h"
#include "lib/mail/record.h"
#include "lib/mail/smtputf8.h"
#include "cleanup.h"

/* Characters that make a full name need quotes (RFC 5322 specials). */
#define PHRASE_SPECIALS "()<>@,;:\\\".[]"

static bool
hdr_is(const char *text, size_t len, const char *name)
{
	size_t n = strlen(name);

	return len > n && strncasecmp(text, name, n) == 0 && text[n] == ':';
}

/* The value of a header: what follows the colon, leading space dropped. */
static const char *
hdr_value(const char *text)
{
	const char *p = strchr(text, ':');

	p = p ? p + 1 : text + strlen(text);
	while (*p == ' ' || *p == '\t' || *p == '\n')
		p++;
	return p;
}

/* "From: Full Name <sender>" as Postfix writes it for the envelope sender. */
static void
cleanup_from_value(struct cleanup_state *s, struct str *out)
{
	struct str *ext = str_new(64);
	const char *p;

	str_reset(out);
	if (str_len(s->sender) == 0) {
		str_set(out, "MAILER-DAEMON");
		goto out;
	}
	addr_externalize(ext, str_ptr(s->sender));
	if (str_len(s->fullname) == 0) {
		str_set(out, str_ptr(ext));
		goto out;
	}
	if (strpbrk(str_ptr(s->fullname), PHRASE_SPECIALS) == NULL) {
		str_set(out, str_ptr(s->fullname));
	} else {
		str_catc(out, '"');
		for (p = str_ptr(s->fullname); *p; p++) {
			if (*p == '"' || *p == '\\')
				str_catc(out, '\\');
			str_catc(out, *p);
		}
		str_catc(out, '"');
	}
	str_catfmt(out, " <%s>", str_ptr(ext));
out:
	str_free(ext);
}

/* <YYYYMMDDhhmmss.QID@myhostname> for short IDs, <QID@myhostname> else. */
static void
cleanup_msgid(struct cleanup_state *s, struct str *out)
{
	time_t now = time(NULL);
	struct tm tm;
	char stamp[32];

	if (var_enable_long_queue_ids) {
		str_fmt(out, "<%s@%s>", str_ptr(s->queue_id), var_myhostname);
		return;
	}
	gmtime_r(&now, &tm);
	if (strftime(stamp, sizeof(stamp), "%Y%m%d%H%M%S", &tm) == 0)
		stamp[0] = 0;
	str_fmt(out, "<%s.%s@%s>", stamp, str_ptr(s->queue_id), var_myhostname);
}

/* Write one header we make up. */
static void
cleanup_add_header(struct cleanup_state *s, const char *name, const char *val)
{
	str_fmt(s->buf, "%s: %s", name, val);
	cleanup_out_header(s, str_ptr(s->buf), str_len(s->buf));
}

/* mime callback: one logical header. */
static void
cleanup_header_cb(void *ctx, int class, const char *text, size_t len)
{
	struct cleanup_state *s = ctx;
	struct str *hdr = str_new(len + 1);
	struct str *val;
	const char *name;
	size_t nlen = 0;
	int hopts = 0;
	bool resent;

	if (smtputf8_8bit(text, len))
		s->utf8_seen |= SMTPUTF8_FLAG_HEADER;
	/*
	 * Hop count: Received: and Delivered-To:.  Postfix goes on counting
	 * and warns for each header at or over the limit.
	 */
	if (class == MIME_CLASS_PRIMARY && !s->discard &&
	    (hdr_is(text, len, "Received") ||
		hdr_is(text, len, "Delivered-To")) &&
	    ++s->hops >= var_hopcount_limit) {
		msg_warn("%s: message rejected: hopcount exceeded",
		    str_ptr(s->queue_id));
		cleanup_fail(s, CLEANUP_STAT_HOPS, NULL);
	}
	if (s->status || s->discard)
		goto out;
	str_setn(hdr, text, len);
	if ((s->flags & CLEANUP_FLAG_FILTER) && cleanup_cfg.hbc &&
	    cleanup_check_header(s, class, hdr))
		goto out;
	if (s->status || s->discard || class != MIME_CLASS_PRIMARY) {
		cleanup_out_header(s, str_ptr(hdr), str_len(hdr));
		goto out;
	}
	text = str_ptr(hdr);
	len = str_len(hdr);
	name = mime_header_name(text, &nlen);
	if (name != NULL)
		hopts = mime_header_opts(name, nlen);
	resent = (hopts & MIME_HOPT_RESENT) != 0;
	if (resent)
		s->seen |= SEEN_RESENT;

	/* Dropped headers; -t takes its recipients from Bcc first. */
	if (hdr_is(text, len, "Return-Path") ||
	    hdr_is(text, len, "Content-Length"))
		goto out;

	/* sendmail -t: the addresses as written (O records show them). */
	if (hdr_is(text, len, "To") || hdr_is(text, len, "Cc") ||
	    hdr_is(text, len, "Bcc")) {
		s->seen |= SEEN_DEST;
		if (s->flags & CLEANUP_XFLAG_EXTRACT_RCPT)
			(void)addr_parse_list(hdr_value(text), s->xrcpt);
	} else if (hdr_is(text, len, "Resent-To") ||
		   hdr_is(text, len, "Resent-Cc") ||
		   hdr_is(text, len, "Resent-Bcc")) {
		s->seen |= SEEN_RESENT_DEST;
		if (s->flags & CLEANUP_XFLAG_EXTRACT_RCPT)
			(void)addr_parse_list(hdr_value(text), s->xrcpt_resent);
	}
	/* Addresses: rewritten in local (or configured remote) context. */
	if ((hopts & MIME_HOPT_ADDRESS) && s->hdr_ctx != NULL) {
		val = str_new(len);
		cleanup_header_addr(s, hdr_value(text), hopts, val);
		str_setn(s->buf, text, nlen);
		str_catfmt(s->buf, ": %s", str_ptr(val));
		str_set(hdr, str_ptr(s->buf));
		str_free(val);
		text = str_ptr(hdr);
		len = str_len(hdr);
	}
	if (hdr_is(text, len, "From"))
		s->seen |= SEEN_FROM;
	else if (hdr_is(text, len, "Date"))
		s->seen |= SEEN_DATE;
	else if (hdr_is(text, len, "Message-Id")) {
		s->seen |= SEEN_MSGID;
		str_set(s->msgid, hdr_value(text));
	} else if (hdr_is(text, len, "Resent-From"))
		s->seen |= SEEN_RESENT_FROM;
	else if (hdr_is(text, len, "Resent-Date"))
		s->seen |= SEEN_RESENT_DATE;
	else if (hdr_is(text, len, "Resent-Message-Id")) {
		s->seen |= SEEN_RESENT_MSGID;
		free(s->resent_msgid);
		s->resent_msgid = xstrdup(hdr_value(text));
	}
	/* Bcc never leaves the machine (Postfix drops it always). */
	if (hdr_is(text, len, "Bcc") || hdr_is(text, len, "Resent-Bcc"))
		goto out;
	cleanup_out_header(s, text, len);
out:
	str_free(hdr);
}

/*
 * mime callback: the primary headers are over.  Add what a local
 * submission lacks (always_add_missing_headers for others), in Postfix's
 * order, and log the message ID.
 */
static void
cleanup_header_end_cb(void *ctx)
{
	struct cleanup_state *s = ctx;
	struct str *v = str_new(64);
	bool add = s->hdr_ctx != NULL || var_always_add_missing_headers;

	/* After a reject Postfix still names the message ID; not a discard. */
	if (s->discard)
		goto out;
	if (add && (s->seen & SEEN_RESENT)) {
		if (!(s->seen & SEEN_RESENT_MSGID)) {
			cleanup_msgid(s, v);
			cleanup_add_header(s, "Resent-Message-Id", str_ptr(v));
			free(s->resent_msgid);
			s->resent_msgid = xstrdup(str_ptr(v));
		}
		if (!(s->seen & SEEN_RESENT_DATE)) {
			mail_date(v, (time_t)s->arrival);
			cleanup_add_header(s, "Resent-Date", str_ptr(v));
		}
		if (!(s->seen & SEEN_RESENT_FROM)) {
			cleanup_from_value(s, v);
			cleanup_add_header(s, "Resent-From", str_ptr(v));
		}
	} else if (add) {
		if (!(s->seen & SEEN_MSGID)) {
			cleanup_msgid(s, v);
			cleanup_add_header(s, "Message-Id", str_ptr(v));
			str_set(s->msgid, str_ptr(v));
		}
		if (!(s->seen & SEEN_DATE)) {
			mail_date(v, (time_t)s->arrival);
			cleanup_add_header(s, "Date", str_ptr(v));
		}
		if (!(s->seen & SEEN_FROM)) {
			cleanup_from_value(s, v);
			cleanup_add_header(s, "From", str_ptr(v));
		}
	}
	if (add && !(s->seen & (SEEN_DEST | SEEN_RESENT_DEST)) &&
	    *var_undisclosed_recipients_header)
		cleanup_out_header(s, var_undisclosed_recipients_header,
		    strlen(var_undisclosed_recipients_header));
	if (s->resent_msgid)
		msg_info("%s: resent-message-id=%s", str_ptr(s->queue_id),
		    s->resent_msgid);
	msg_info("%s: message-id=%s", str_ptr(s->queue_id),
	    str_len(s->msgid) ? str_ptr(s->msgid) : "<>");
out:
	s->in_header = false;
	str_free(v);
}

/* mime callback: one body record (or a part's header/boundary line). */
static void
cleanup_body_cb(void *ctx, int type, const char *p, size_t len)
{
	struct cleanup_state *s = ctx;
	size_t i;

	if (s->status || s->discard)
		return;
	if ((s->flags & CLEANUP_FLAG_FILTER) && cleanup_cfg.hbc &&
	    cleanup_check_body(s, p, len))
		return;
	for (i = 0; i < len; i++)
		if ((unsigned char)p[i] & 0x80) {
			s->qmgr_flags |= QUEUE_FLAG_8BITMIME;
			break;
		}
	s->content_size += (long)len + (type == REC_TYPE_NORM);
	cleanup_out(s, type, p, len);
}

/*
 * mime callback: a structure error.  Postfix's cleanup rejects too deep
 * MIME nesting when it inspects content (a *header_checks table or a
 * strict_* option), and 8-bit header text with strict_7bit_headers or
 * strict_8bitmime; a cut header is never a reason.
 */
static void
cleanup_mime_error_cb(void *ctx, int bit, const char *text, size_t len)
{
	struct cleanup_state *s = ctx;
	bool strict = var_strict_7bit_headers || var_strict_8bitmime ||
		      var_strict_8bitmime_body ||
		      var_strict_mime_encoding_domain;
	bool checks = (s->flags & CLEANUP_FLAG_FILTER) &&
		      (*var_header_checks || *var_mime_header_checks ||
			  *var_nested_header_checks);
	const char *why = mime_error_text(bit);
	struct str *class;

	if (s->status || s->discard || why == NULL)
		return;
	if (!((bit & MIME_ERR_NESTING) && (checks || strict)) &&
	    !((bit & MIME_ERR_8BIT_IN_HEADER) &&
		(var_strict_7bit_headers || var_strict_8bitmime)))
		return;
	class = str_new(64);
	str_fmt(class, "mime-error %s:", why);
	cleanup_act_log(s, "reject", str_ptr(class), text, len, NULL);
	cleanup_fail(s, CLEANUP_STAT_CONT, "5.6.0 %s", why);
	str_free(class);
}

void
cleanup_content_start(struct cleanup_state *s)
{
	static const struct mime_callbacks cb = {
		.header = cleanup_header_cb,
		.header_end = cleanup_header_end_cb,
		.body = cleanup_body_cb,
		.error = cleanup_mime_error_cb,
	};
	struct str *v;

	s->in_header = true;
	s->mime = mime_new(&cb, s,
	    var_disable_mime_input_processing ? MIME_FLAG_DISABLE : 0);
	/* The local submission's Received: header, as Postfix's pickup. */
	if (s->submit_uid >= 0) {
		v = str_new(64);
		mail_date(v, (time_t)s->arrival);
		str_fmt(s->buf,
		    "Received: by %s (%s, from userid %ld)\n\tid %s; %s",
		    var_myhostname, var_mail_name, s->submit_uid,
		    str_ptr(s->queue_id), str_ptr(v));
		cleanup_header_cb(s, MIME_CLASS_PRIMARY, str_ptr(s->buf),
		    str_len(s->buf));
		str_free(v);
	}
}

/*
 * One content record.  Stray CR and LF bytes become spaces
 * (cleanup_replace_stray_cr_lf); the size limit counts what the client
 * sent.
 */
void
cleanup_content(struct cleanup_state *s, int type, const char *data, size_t len)
{
	char *p;
	size_t i;

	s->act_size += (long)len + (type == REC_TYPE_NORM);
	if (var_message_size_limit > 0 &&
	    s->act_size > var_message_size_limit &&
	    !(s->status & CLEANUP_STAT_SIZE)) {
		cleanup_fail(s, CLEANUP_STAT_SIZE,
		    "5.3.4 message file too big");
		return;
	}
	if (s->status || s->discard)
		return;
	str_setn(s->buf2, data, len);
	p = str_ptr(s->buf2);
	if (var_cleanup_replace_stray_cr_lf)
		for (i = 0; i < len; i++)
			if (p[i] == '\r' || p[i] == '\n')
				p[i] = ' ';
	(void)mime_update(s->mime, type, p, len);
}

/*
 * X arrived: finish the headers and body, write X, then the recipients
 * that sendmail -t asked for (Resent- ones when there are any).
 */
void
cleanup_content_done(struct cleanup_state *s)
{
	struct argv *list;
	size_t i;

	if (s->mime)
		(void)mime_finish(s->mime);
	s->segment_size = (long)s->offset - s->data_offset;
	cleanup_out(s, REC_TYPE_XTRA, "", 0);
	if (!(s->flags & CLEANUP_XFLAG_EXTRACT_RCPT))
		return;
	list = (s->seen & SEEN_RESENT) && s->xrcpt_resent->argc > 0
		   ? s->xrcpt_resent
		   : s->xrcpt;
	for (i = 0; i < list->argc && s->status == 0; i++)
		cleanup_recipient(s, list->argv[i], list->argv[i], "", 0);
}

/* One record of the client's extracted segment. */
void
cleanup_extracted(struct cleanup_state *s, int type, const char *data,
    size_t len)
{
	switch (type) {
	case REC_TYPE_RCPT:
	case REC_TYPE_ORCP:
	case REC_TYPE_DSN_ORCPT:
	case REC_TYPE_DSN_NOTIFY:
	case REC_TYPE_ATTR:
		/* The same rules as in the envelope. */
		cleanup_envelope(s, type, data, len);
		return;
	case REC_TYPE_RRTO:
	case REC_TYPE_ERTO:
	case REC_TYPE_PRIO:
		cleanup_out(s, type, data, len);
		return;
	default:
		msg_warn("%s: unexpected record type %c from %s",
		    str_ptr(s->queue_id), type, cleanup_client(s));
		s->status |= CLEANUP_STAT_BAD;
		return;
	}
}

/*
 * E arrived: the results of header and body checks (content filter,
 * redirect, BCC recipients), the recipient count check, then E.
 */
void
cleanup_extracted_done(struct cleanup_state *s)
{
	size_t i;

	if (s->filter)
		cleanup_out_str(s, REC_TYPE_FILT, str_ptr(s->filter));
	if (s->redirect)
		cleanup_out_str(s, REC_TYPE_RDR, str_ptr(s->redirect));
	for (i = 0; i < s->bcc->argc && s->status == 0; i++)
		/* Postfix: no ORCPT, NOTIFY=NEVER (1). */
		cleanup_recipient(s, s->bcc->argv[i], s->bcc->argv[i], NULL, 1);
	if (s->status == 0 && !s->discard && s->rcpt_count == 0)
		cleanup_fail(s, CLEANUP_STAT_RCPT,
		    "5.1.0 no recipients specified");
	cleanup_out(s, REC_TYPE_END, "", 0);
}
