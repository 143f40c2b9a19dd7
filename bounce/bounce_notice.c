/*
 * bounce_notice - compose one RFC 3464 delivery status notification
 * (multipart/report: the human-readable text, message/delivery-status,
 * the original message or its headers) and submit it through cleanup,
 * laid out line for line as Postfix 3.7's bounce daemon writes it
 * (observed with Debian's 3.7.11 and postcat; the texts are Postfix's
 * default templates as "postconf -b" prints them).
 */
#include <sys/time.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/util/alloc.h"
#include "lib/util/msg.h"
#include "lib/util/str.h"
#include "lib/util/stream.h"
#include "lib/mail/addr.h"
#include "lib/mail/cleanup_proto.h"
#include "lib/mail/mail_date.h"
#include "lib/mail/params.h"
#include "lib/mail/record.h"
#include "bounce/bounce.h"

/* Postfix's default templates (bounce.cf.default), after the headers. */
static const char bounce_failure_text[] =
    "This is the mail system at host %s.\n"
    "\n"
    "I'm sorry to have to inform you that your message could not\n"
    "be delivered to one or more recipients. It's attached below.\n"
    "\n"
    "For further assistance, please send mail to postmaster.\n"
    "\n"
    "If you do so, please include this problem report. You can\n"
    "delete your own text from the attached returned message.\n"
    "\n"
    "                   The mail system\n";

static const char bounce_delay_text[] =
    "This is the mail system at host %s.\n"
    "\n"
    "####################################################################\n"
    "# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #\n"
    "####################################################################\n"
    "\n"
    "Your message could not be delivered for more than %d hour(s).\n"
    "It will be retried until it is %d day(s) old.\n"
    "\n"
    "For further assistance, please send mail to postmaster.\n"
    "\n"
    "If you do so, please include this problem report. You can\n"
    "delete your own text from the attached returned message.\n"
    "\n"
    "                   The mail system\n";

static const char bounce_success_text[] =
    "This is the mail system at host %s.\n"
    "\n"
    "Your message was successfully delivered to the destination(s)\n"
    "listed below. If the message was delivered to mailbox you will\n"
    "receive no further notifications. Otherwise you may still receive\n"
    "notifications of mail delivery errors from other systems.\n"
    "\n"
    "                   The mail system\n";

static const char bounce_verify_text[] =
    "This is the mail system at host %s.\n"
    "\n"
    "Enclosed is the mail delivery report that you requested.\n"
    "\n"
    "                   The mail system\n";

/* One line as N records, or L pieces of line_length_limit and a last N. */
static int
put_line(struct stream *st, const char *text, size_t len)
{
	size_t limit = (size_t)var_line_length_limit;

	while (len > limit) {
		if (rec_put(st, REC_TYPE_CONT, text, limit) < 0)
			return -1;
		text += limit;
		len -= limit;
	}
	return rec_put(st, REC_TYPE_NORM, text, len);
}

static int put_fmt(struct stream *st, struct str *buf, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
put_fmt(struct stream *st, struct str *buf, const char *fmt, ...)
{
	va_list ap;

	str_reset(buf);
	va_start(ap, fmt);
	str_vcatfmt(buf, fmt, ap);
	va_end(ap);
	return put_line(st, str_ptr(buf), str_len(buf));
}

/* Every line of a multi-line text (each ends in a newline). */
static int
put_text(struct stream *st, const char *text)
{
	const char *nl;

	while ((nl = strchr(text, '\n')) != NULL) {
		if (put_line(st, text, (size_t)(nl - text)) < 0)
			return -1;
		text = nl + 1;
	}
	return 0;
}

/*
 * One long line folded as Postfix's line_wrap() folds the reasons: break
 * at white space before a line would pass BOUNCE_WRAP columns, indent the
 * continuation lines by BOUNCE_INDENT (observed on 3.7.11).
 */
#define BOUNCE_WRAP   79
#define BOUNCE_INDENT 4

static int
put_wrapped(struct stream *st, const char *text)
{
	struct str *line = str_new(BOUNCE_WRAP + 1);
	const char *start = text, *word = text, *sp, *end;
	size_t limit = BOUNCE_WRAP, len;
	int ret = -1;

	for (;;) {
		sp = word + strcspn(word, " \t");
		if (word > start && (size_t)(sp - start) > limit) {
			/* Emit start..word, without the white space before word. */
			end = word;
			while (
			    end > start && (end[-1] == ' ' || end[-1] == '\t'))
				end--;
			str_catn(line, start, (size_t)(end - start));
			if (put_line(st, str_ptr(line), str_len(line)) < 0)
				goto out;
			str_set(line, "    ");
			limit = BOUNCE_WRAP - BOUNCE_INDENT;
			start = word;
		}
		if (*sp == 0)
			break;
		word = sp + strspn(sp, " \t");
		if (*word == 0)
			break;
	}
	len = strlen(start);
	str_catn(line, start, len);
	ret = put_line(st, str_ptr(line), str_len(line));
out:
	str_free(line);
	return ret;
}

bool
bounce_notice_wants(const struct bounce_notice *n,
    const struct rcpt_log_entry *e)
{
	int want;

	if (!n->select_notify)
		return true;
	switch (n->kind) {
	case BOUNCE_FAILURE:
		want = DSN_NOTIFY_FAILURE;
		break;
	case BOUNCE_DELAY:
		want = DSN_NOTIFY_DELAY;
		break;
	default:
		/* trace/ holds only recipients that asked for SUCCESS. */
		return (e->notify_flags & DSN_NOTIFY_NEVER) == 0;
	}
	return e->notify_flags == 0 || (e->notify_flags & want) != 0;
}

/* The "<addr>: reason" paragraphs after the template text. */
static int
put_rcpt_text(struct stream *st, struct str *buf, struct str *ext,
    const struct rcpt_log_entry *e)
{
	if (put_line(st, "", 0) < 0)
		return -1;
	str_reset(buf);
	addr_externalize(ext, e->address);
	str_catfmt(buf, "<%s>", str_ptr(ext));
	if (*e->orig_address && strcmp(e->orig_address, e->address) != 0) {
		addr_externalize(ext, e->orig_address);
		str_catfmt(buf, " (expanded from <%s>)", str_ptr(ext));
	}
	str_catfmt(buf, ": %s", e->reason);
	return put_wrapped(st, str_ptr(buf));
}

/* One per-recipient block of the message/delivery-status part. */
static int
put_rcpt_dsn(struct stream *st, struct str *buf, struct str *ext,
    const struct bounce_notice *n, const struct bounce_msg *msg,
    const struct rcpt_log_entry *e)
{
	const char *action = n->as_failed ? "failed" : e->action;

	addr_externalize(ext, e->address);
	if (put_line(st, "", 0) < 0 ||
	    put_fmt(st, buf, "Final-Recipient: rfc822; %s", str_ptr(ext)) < 0)
		return -1;
	if (*e->dsn_orcpt) {
		if (put_fmt(st, buf, "Original-Recipient: %s", e->dsn_orcpt) <
		    0)
			return -1;
	} else if (*e->orig_address) {
		addr_externalize(ext, e->orig_address);
		if (put_fmt(st, buf, "Original-Recipient: rfc822; %s",
			str_ptr(ext)) < 0)
			return -1;
	}
	if (put_fmt(st, buf, "Action: %s", action) < 0 ||
	    put_fmt(st, buf, "Status: %s", e->status) < 0)
		return -1;
	if (*e->mta && put_fmt(st, buf, "Remote-MTA: dns; %s", e->mta) < 0)
		return -1;
	/*
	 * A server's reply as "smtp; REPLY" (an LMTP server's too); the
	 * reason text when there was none (local errors, connection and DNS
	 * failures), as Postfix 3.7 writes them.
	 */
	if (*e->dtype) {
		str_fmt(buf, "Diagnostic-Code: %s; %s", e->dtype, e->dtext);
		if (put_wrapped(st, str_ptr(buf)) < 0)
			return -1;
	} else if (*e->reason) {
		str_fmt(buf, "Diagnostic-Code: X-Postfix; %s", e->reason);
		if (put_wrapped(st, str_ptr(buf)) < 0)
			return -1;
	}
	if (n->kind == BOUNCE_DELAY && strcmp(action, "delayed") == 0) {
		mail_date(ext,
		    (time_t)(msg->arrival.tv_sec + var_maximal_queue_lifetime));
		if (put_fmt(st, buf, "Will-Retry-Until: %s", str_ptr(ext)) < 0)
			return -1;
	}
	return 0;
}

/* Headers, text, delivery-status and original parts. */
static int
bounce_write(struct stream *st, const struct bounce_notice *n,
    const struct bounce_msg *msg, const struct rcpt_log_list *list,
    const char *new_id, struct str *why)
{
	struct str *buf = str_new(256), *ext = str_new(64);
	struct str *bnd = str_new(64), *date = str_new(64);
	const char *subject, *desc, *ctype;
	bool headers_only;
	time_t now = time(NULL);
	size_t i;
	int ret = -1;

	switch (n->kind) {
	case BOUNCE_FAILURE:
		subject = n->postmaster ? "Postmaster Copy: Undelivered Mail"
					: "Undelivered Mail Returned to Sender";
		break;
	case BOUNCE_DELAY:
		subject = n->postmaster ? "Postmaster Warning: Delayed Mail"
					: "Delayed Mail (still being retried)";
		break;
	case BOUNCE_VERIFY:
		subject = "Mail Delivery Status Report";
		break;
	default:
		subject = "Successful Mail Delivery Report";
		break;
	}
	headers_only = n->orig == BOUNCE_ORIG_HEADERS ||
		       msg->content_size > var_bounce_size_limit;
	if (n->kind == BOUNCE_SUCCESS || n->kind == BOUNCE_VERIFY)
		desc = headers_only ? "Message Headers" : "Message";
	else
		desc = headers_only ? "Undelivered Message Headers"
				    : "Undelivered Message";
	ctype = headers_only ? "text/rfc822-headers" : "message/rfc822";
	str_fmt(bnd, "%s.%ld/%s", msg->id, (long)now, var_myhostname);
	mail_date(date, now);

	/* The headers that Postfix's bounce writes; cleanup adds Message-Id. */
	addr_externalize(ext, n->recipient);
	if (put_fmt(st, buf, "Received: by %s (%s)", var_myhostname,
		var_mail_name) < 0 ||
	    put_fmt(st, buf, "\tid %s; %s", new_id, str_ptr(date)) < 0 ||
	    put_fmt(st, buf, "Date: %s", str_ptr(date)) < 0 ||
	    put_fmt(st, buf, "From: Mail Delivery System <MAILER-DAEMON>") <
		0 ||
	    put_fmt(st, buf, "Subject: %s", subject) < 0 ||
	    put_fmt(st, buf, "To: %s", str_ptr(ext)) < 0 ||
	    put_fmt(st, buf, "Auto-Submitted: %s",
		n->postmaster ? "auto-generated" : "auto-replied") < 0 ||
	    put_fmt(st, buf, "MIME-Version: 1.0") < 0 ||
	    put_fmt(st, buf,
		"Content-Type: multipart/report; "
		"report-type=delivery-status;") < 0 ||
	    put_fmt(st, buf, "\tboundary=\"%s\"", str_ptr(bnd)) < 0 ||
	    put_fmt(st, buf, "Content-Transfer-Encoding: 8bit") < 0 ||
	    put_line(st, "", 0) < 0 ||
	    put_fmt(st, buf, "This is a MIME-encapsulated message.") < 0 ||
	    put_line(st, "", 0) < 0)
		goto io_err;

	/* Part 1: the template text (none for the postmaster) and reasons. */
	if (put_fmt(st, buf, "--%s", str_ptr(bnd)) < 0 ||
	    put_fmt(st, buf, "Content-Description: Notification") < 0 ||
	    put_fmt(st, buf, "Content-Type: text/plain; charset=utf-8") < 0 ||
	    put_fmt(st, buf, "Content-Transfer-Encoding: 8bit") < 0 ||
	    put_line(st, "", 0) < 0)
		goto io_err;
	if (!n->postmaster) {
		str_reset(buf);
		if (n->kind == BOUNCE_FAILURE)
			str_catfmt(buf, bounce_failure_text, var_myhostname);
		else if (n->kind == BOUNCE_DELAY)
			str_catfmt(buf, bounce_delay_text, var_myhostname,
			    var_delay_warning_time / 3600,
			    var_maximal_queue_lifetime / 86400);
		else if (n->kind == BOUNCE_VERIFY)
			str_catfmt(buf, bounce_verify_text, var_myhostname);
		else
			str_catfmt(buf, bounce_success_text, var_myhostname);
		if (put_text(st, str_ptr(buf)) < 0)
			goto io_err;
	}
	for (i = 0; i < list->count; i++)
		if (bounce_notice_wants(n, &list->entries[i]) &&
		    put_rcpt_text(st, buf, ext, &list->entries[i]) < 0)
			goto io_err;
	if (put_line(st, "", 0) < 0)
		goto io_err;

	/* Part 2: message/delivery-status (RFC 3464 section 2). */
	if (put_fmt(st, buf, "--%s", str_ptr(bnd)) < 0 ||
	    put_fmt(st, buf, "Content-Description: Delivery report") < 0 ||
	    put_fmt(st, buf, "Content-Type: message/delivery-status") < 0 ||
	    put_line(st, "", 0) < 0 ||
	    put_fmt(st, buf, "Reporting-MTA: dns; %s", var_myhostname) < 0)
		goto io_err;
	if (*msg->envid &&
	    put_fmt(st, buf, "Original-Envelope-Id: %s", msg->envid) < 0)
		goto io_err;
	if (*msg->sender)
		addr_externalize(ext, msg->sender);
	else
		str_fmt(ext, "MAILER-DAEMON@%s", var_myhostname);
	mail_date(date, (time_t)msg->arrival.tv_sec);
	if (put_fmt(st, buf, "X-Postfix-Queue-ID: %s", msg->id) < 0 ||
	    put_fmt(st, buf, "X-Postfix-Sender: rfc822; %s", str_ptr(ext)) <
		0 ||
	    put_fmt(st, buf, "Arrival-Date: %s", str_ptr(date)) < 0)
		goto io_err;
	for (i = 0; i < list->count; i++)
		if (bounce_notice_wants(n, &list->entries[i]) &&
		    put_rcpt_dsn(st, buf, date, n, msg, &list->entries[i]) < 0)
			goto io_err;
	if (put_line(st, "", 0) < 0)
		goto io_err;

	/* Part 3: the original message or its headers, after Return-Path. */
	if (put_fmt(st, buf, "--%s", str_ptr(bnd)) < 0 ||
	    put_fmt(st, buf, "Content-Description: %s", desc) < 0 ||
	    put_fmt(st, buf, "Content-Type: %s", ctype) < 0 ||
	    put_fmt(st, buf, "Content-Transfer-Encoding: 8bit") < 0 ||
	    put_line(st, "", 0) < 0 ||
	    put_fmt(st, buf, "Return-Path: <%s>", str_ptr(ext)) < 0)
		goto io_err;
	if (bounce_msg_copy(msg, st, headers_only, why) < 0)
		goto out;
	if (put_line(st, "", 0) < 0 ||
	    put_fmt(st, buf, "--%s--", str_ptr(bnd)) < 0)
		goto io_err;
	ret = 0;
	goto out;
io_err:
	str_fmt(why, "write to cleanup: %s", strerror(errno));
out:
	str_free(buf);
	str_free(ext);
	str_free(bnd);
	str_free(date);
	return ret;
}

char *
bounce_notice_send(const struct bounce_notice *n, const struct bounce_msg *msg,
    const struct rcpt_log_list *list, struct str *why)
{
	struct cleanup *c;
	struct stream *st;
	struct str *reason = str_new(64);
	char *new_id = NULL;
	int status;

	if ((c = cleanup_open("public/cleanup", CLEANUP_FLAG_MAP_OK, why)) ==
	    NULL)
		goto out;
	st = cleanup_stream(c);

	/*
	 * Envelope as Postfix's post_mail writes it: local rewriting context
	 * (MAILER-DAEMON gets @$myorigin), the recipient with its ORCPT.
	 */
	if (rec_puts(st, REC_TYPE_ATTR, "rewrite_context=local") < 0 ||
	    rec_puts(st, REC_TYPE_FROM, n->env_sender) < 0 ||
	    rec_fmt(st, REC_TYPE_ATTR, "dsn_orig_rcpt=rfc822;%s",
		n->recipient) < 0 ||
	    rec_puts(st, REC_TYPE_ORCP, n->recipient) < 0 ||
	    rec_puts(st, REC_TYPE_RCPT, n->recipient) < 0 ||
	    rec_put(st, REC_TYPE_MESG, "", 0) < 0) {
		str_fmt(why, "write to cleanup: %s", strerror(errno));
		cleanup_abort(c);
		goto out;
	}
	if (bounce_write(st, n, msg, list, cleanup_queue_id(c), why) < 0) {
		cleanup_abort(c);
		goto out;
	}
	if (rec_put(st, REC_TYPE_XTRA, "", 0) < 0 ||
	    rec_put(st, REC_TYPE_END, "", 0) < 0) {
		str_fmt(why, "write to cleanup: %s", strerror(errno));
		cleanup_abort(c);
		goto out;
	}
	new_id = xstrdup(cleanup_queue_id(c));
	if ((status = cleanup_close(c, reason)) != 0) {
		str_fmt(why, "cleanup status %d%s%s", status,
		    str_len(reason) ? ": " : "", str_ptr(reason));
		free(new_id);
		new_id = NULL;
	}
out:
	str_free(reason);
	return new_id;
}
