/*
 * smtp_proto - the mail transaction over an established SMTP or LMTP
 * session (smtp_connect.c sets it up): MAIL, RCPT..., DATA (pipelined
 * when the server offers PIPELINING), the message, QUIT; and the reply
 * reader, command writer and outcome bookkeeping that both files use.
 *
 * Each recipient's outcome goes to the state: 2xx is delivered (logged
 * now), 5xx bounced (logged now), 4xx is kept with its reason so that the
 * next server may take the recipient; smtp.c defers what is left after
 * the last server.  A failure of the whole session (connect, greeting,
 * EHLO, MAIL, a lost connection, a timeout) applies to every recipient
 * that is still pending.  Reasons and their "(in reply to X command)",
 * "lost connection with H[A] while S" and "conversation with H[A] timed
 * out while S" are Postfix's words.
 *
 * Mail loops: a server on port 25 whose EHLO reply names this host
 * (myhostname) is this host; the delivery fails (smtp_loop_fail).  8-bit
 * content for a server without 8BITMIME is converted on the fly
 * (mime_down.c) unless disable_mime_output_conversion = yes.
 */
#include <sys/types.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/util/alloc.h"
#include "lib/util/msg.h"
#include "lib/util/str.h"
#include "lib/util/stream.h"
#include "lib/mail/addr.h"
#include "lib/mail/addr_map.h"
#include "lib/mail/deliver.h"
#include "lib/mail/dsn.h"
#include "lib/mail/maps.h"
#include "lib/mail/params.h"
#include "lib/mail/smtputf8.h"
#include "smtp.h"

static struct maps *smtp_generic;
static bool smtp_proto_ready;

void
smtp_proto_init(void)
{
	if (smtp_proto_ready)
		return;
	smtp_proto_ready = true;
	if (*SMTP_VAR(generic_maps))
		smtp_generic = maps_new(smtp_lmtp ? "lmtp_generic_maps"
						  : "smtp_generic_maps",
		    SMTP_VAR(generic_maps), DICT_FLAGS_READ);
}

/*
 * The enhanced status code of a reply: the one the text starts with when
 * its class matches the reply code, else X.0.0.
 */
void
smtp_reply_dsn(int code, const char *text, struct str *out)
{
	const char *p = text;
	int cls = code / 100;
	size_t n;

	if (cls < 2 || cls > 5)
		cls = 4;
	/* Skip "NNN " or "NNN-". */
	if (isdigit((unsigned char)p[0]) && isdigit((unsigned char)p[1]) &&
	    isdigit((unsigned char)p[2]) && (p[3] == ' ' || p[3] == '-'))
		p += 4;
	if (p[0] - '0' == cls && p[1] == '.') {
		n = 2;
		if (isdigit((unsigned char)p[n]) &&
		    isdigit((unsigned char)p[n + 1]) && p[n + 2] == '.')
			n += 3;
		else if (isdigit((unsigned char)p[n]) && p[n + 1] == '.')
			n += 2;
		else
			n = 0;
		if (n > 0) {
			size_t m = n;

			while (isdigit((unsigned char)p[m]) && m < n + 3)
				m++;
			if (m > n && (p[m] == ' ' || p[m] == 0)) {
				str_set(out, "");
				str_catn(out, p, m);
				return;
			}
		}
	}
	str_fmt(out, "%d.0.0", cls);
}

/* A reason with class 4: a hard reply that must not bounce (skipped). */
void
smtp_soften(struct str *dsn)
{
	if (str_len(dsn) > 0 && str_ptr(dsn)[0] == '5')
		str_ptr(dsn)[0] = '4';
}

/* Record a 4xx (or softened) outcome for a recipient: kept for later. */
static void
smtp_rcpt_soft(struct smtp_session *s, size_t i, const char *dsn,
    const char *why)
{
	struct smtp_rcpt_state *rs = &s->state->rs[i];

	str_set(rs->dsn, dsn);
	smtp_soften(rs->dsn);
	str_set(rs->why, why);
	str_set(rs->relay, str_ptr(s->relay));
	str_set(rs->dtext, str_ptr(s->reply));
}

/*
 * A final or soft outcome for recipient i from a server reply (s->reply,
 * the notice's "Diagnostic-Code: smtp; REPLY").  Success is "relayed"
 * ("delivered" from an LMTP server without DSN under lmtp_assume_final);
 * a server that announced DSN got NOTIFY and sends the success notice.
 */
static void
smtp_rcpt_result(struct smtp_session *s, size_t i, const char *dsn,
    const char *why)
{
	struct smtp_state *state = s->state;
	struct deliver_rcpt *r = &state->req->rcpt[i];
	struct deliver_diag diag = { .dtype = "smtp",
		.dtext = str_ptr(s->reply),
		.action = "relayed",
		.notify_passed = s->dsn };

	if (smtp_lmtp && !s->dsn && var_lmtp_assume_final)
		diag.action = "delivered";
	if (dsn[0] == '2') {
		(void)deliver_sent_diag(state->req, r, str_ptr(s->relay), dsn,
		    &diag, "%s", why);
		state->rs[i].done = true;
	} else if (dsn[0] == '5') {
		(void)deliver_bounce_diag(state->req, r, str_ptr(s->relay), dsn,
		    &diag, "%s", why);
		state->rs[i].done = true;
	} else {
		smtp_rcpt_soft(s, i, dsn, why);
	}
}

/*
 * Every pending recipient fails the same way: bounced when hard, else
 * kept with the reason.  relay NULL logs relay=none.  reply: the server's
 * reply behind the failure (the notices' "Diagnostic-Code: smtp; REPLY",
 * as Postfix's smtp_site_fail), or NULL.
 */
void
smtp_fail_all_reply(struct smtp_state *state, const char *relay,
    const char *dsn, const char *why, bool hard, const char *reply)
{
	struct deliver_diag diag = { .dtype = "smtp", .dtext = reply };

	for (size_t i = 0; i < state->req->rcpt_count; i++) {
		struct smtp_rcpt_state *rs = &state->rs[i];

		if (rs->done)
			continue;
		if (hard) {
			(void)deliver_bounce_diag(state->req,
			    &state->req->rcpt[i], relay, dsn,
			    reply ? &diag : NULL, "%s", why);
			rs->done = true;
		} else {
			str_set(rs->dsn, dsn);
			smtp_soften(rs->dsn);
			str_set(rs->why, why);
			str_set(rs->relay, relay ? relay : "none");
			str_set(rs->dtext, reply ? reply : "");
		}
	}
}

void
smtp_fail_all(struct smtp_state *state, const char *relay, const char *dsn,
    const char *why, bool hard)
{
	smtp_fail_all_reply(state, relay, dsn, why, hard, NULL);
}

/* The session failed as a whole with a server reply. */
void
smtp_site_reply(struct smtp_session *s, const char *fmt_reason)
{
	struct str *dsn = str_new(0);

	smtp_reply_dsn(s->code, str_ptr(s->reply), dsn);
	if (str_ptr(dsn)[0] == '2')
		str_ptr(dsn)[0] = '4'; /* not a success: kept for later */
	for (size_t i = 0; i < s->state->req->rcpt_count; i++)
		if (!s->state->rs[i].done)
			smtp_rcpt_result(s, i, str_ptr(dsn), fmt_reason);
	str_free(dsn);
}

/* The session failed with a lost connection or a timeout. */
void
smtp_site_io(struct smtp_session *s, const char *what)
{
	struct str *why = str_new(0);

	s->io_failed = true;
	if (stream_status(s->st) == STREAM_TIMEOUT)
		str_fmt(why, "conversation with %s timed out while %s",
		    str_ptr(s->namaddr), what);
	else
		str_fmt(why, "lost connection with %s while %s",
		    str_ptr(s->namaddr), what);
	smtp_fail_all(s->state, str_ptr(s->relay), "4.4.2", str_ptr(why),
	    false);
	str_free(why);
}

/*
 * Is the server this host?  The first word of the greeting or EHLO reply
 * in s->reply is myhostname (in any case).  As in Postfix, only SMTP to
 * port 25 asks: LMTP servers and content filters on other ports may
 * share the host's name.
 */
bool
smtp_loop_check(const struct smtp_session *s)
{
	const char *p = str_ptr(s->reply);
	size_t n = strlen(var_myhostname);

	if (smtp_lmtp || s->addr->family == AF_UNIX || s->addr->port != 25)
		return false;
	if (strlen(p) < 4)
		return false;
	p += 4; /* "220 ", "250-" */
	while (*p == ' ' || *p == '\t')
		p++;
	return n > 0 && strncasecmp(p, var_myhostname, n) == 0 &&
	       (p[n] == 0 || p[n] == ' ' || p[n] == '\t');
}

/*
 * The EHLO reply names this host: a most preferred server (a relay
 * host, the best MX) bounces the mail with 5.4.6, another one is skipped
 * (4.4.6) for the next, as in Postfix.
 */
void
smtp_loop_fail(struct smtp_session *s)
{
	struct smtp_state *state = s->state;
	struct str *why = str_new(0);

	msg_warn("host %s replied to HELO/EHLO with my own hostname %s",
	    str_ptr(s->relay), var_myhostname);
	str_fmt(why, "mail for %s loops back to myself",
	    str_ptr(state->req->nexthop));
	if (!state->best && !state->last)
		msg_info("%s: %s", str_ptr(state->req->queue_id), str_ptr(why));
	smtp_fail_all(state, str_ptr(s->relay), state->best ? "5.4.6" : "4.4.6",
	    str_ptr(why), state->best);
	str_free(why);
}

/*
 * Read one reply within timeout seconds: 0 with s->code and s->reply
 * (its lines joined by spaces, as Postfix logs them), or -1.
 */
int
smtp_reply(struct smtp_session *s, int timeout)
{
	struct str *line = str_new(0);
	int ret = -1, lines = 0, r;

	str_reset(s->reply);
	s->code = 0;
	stream_set_timeout(s->st, timeout * 1000);
	for (;;) {
		const char *p;

		r = stream_getline(s->st, line, SMTP_REPLY_LINE_MAX);
		if (r != STREAM_OK && r != STREAM_TOOLONG)
			goto out;
		if (str_len(line) && str_ptr(line)[str_len(line) - 1] == '\r')
			str_truncate(line, str_len(line) - 1);
		if (msg_verbose)
			msg_info("< %s: %s", str_ptr(s->namaddr),
			    str_ptr(line));
		/* Control characters would garble the log and the bounce. */
		for (char *q = str_ptr(line); *q; q++)
			if ((unsigned char)*q < 0x20 || *q == 0x7f)
				*q = ' ';
		if (lines++ < SMTP_REPLY_LINES_MAX) {
			if (str_len(s->reply))
				str_cat(s->reply, " ");
			str_cat(s->reply, str_ptr(line));
		}
		p = str_ptr(line);
		if (isdigit((unsigned char)p[0]) &&
		    isdigit((unsigned char)p[1]) &&
		    isdigit((unsigned char)p[2]) && p[3] == '-')
			continue;
		if (isdigit((unsigned char)p[0]) &&
		    isdigit((unsigned char)p[1]) &&
		    isdigit((unsigned char)p[2]) && (p[3] == ' ' || p[3] == 0))
			s->code = (p[0] - '0') * 100 + (p[1] - '0') * 10 +
				  (p[2] - '0');
		else
			s->code = 0; /* malformed: a soft protocol error */
		break;
	}
	ret = 0;
out:
	str_free(line);
	return ret;
}

/* Send one command line (buffered; flushed before the next read). */
int
smtp_cmd(struct smtp_session *s, int timeout, const char *cmd)
{
	if (msg_verbose)
		msg_info("> %s: %s", str_ptr(s->namaddr), cmd);
	stream_set_timeout(s->st, timeout * 1000);
	if (stream_puts(s->st, cmd) < 0 || stream_puts(s->st, "\r\n") < 0)
		return -1;
	return 0;
}

/* RFC 3461 xtext. */
static void
smtp_xtext(struct str *out, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 33 || c > 126 || c == '+' || c == '=')
			str_catfmt(out, "+%02X", c);
		else
			str_catn(out, s, 1);
	}
}

/* An envelope address as sent: generic-mapped, quoted, in brackets. */
static void
smtp_envelope_addr(struct smtp_session *s, struct str *out, const char *addr)
{
	struct str *mapped = str_new(0);

	str_set(mapped, addr);
	if (smtp_generic && *addr) {
		if (canon_lookup(smtp_generic, addr, mapped) < 0) {
			msg_warn("%s: %s map lookup problem for %s",
			    str_ptr(s->state->req->queue_id),
			    smtp_generic->title, addr);
			str_set(mapped, addr);
		}
	}
	if (SMTP_VAR(quote_rfc821_envelope))
		addr_externalize(out, str_ptr(mapped));
	else
		str_set(out, str_ptr(mapped));
	str_free(mapped);
}

/* Deliver the pending recipients over an established session. */
void
smtp_transaction(struct smtp_session *s)
{
	struct smtp_state *state = s->state;
	struct deliver_request *req = state->req;
	struct str *cmd = str_new(0), *addr = str_new(0), *why = str_new(0);
	struct str *dsn = str_new(0);
	size_t *sent =
	    xcalloc(req->rcpt_count ? req->rcpt_count : 1, sizeof(*sent));
	size_t nsent = 0, naccepted = 0, i;
	bool utf8 = false;
	/*
	 * Postfix converts whatever is not labelled 7bit (BODY=7BIT) for a
	 * server without 8BITMIME, and then sends no SIZE: the size changes.
	 */
	bool downgrade = !var_disable_mime_output_conversion && !s->eightbit &&
			 strcmp(str_ptr(req->encoding), "7bit") != 0;
	/* An address probe (sendmail -bv) stops after RCPT. */
	bool verify = (req->flags & DELIVER_FLAG_VERIFY) != 0;

	/* What the server cannot take is refused before MAIL. */
	if (s->size_limit > 0 && req->data_size > s->size_limit) {
		str_fmt(why,
		    "message size %ld exceeds size limit %ld of server %s",
		    req->data_size, s->size_limit, str_ptr(s->namaddr));
		smtp_fail_all(state, str_ptr(s->relay), "5.3.4", str_ptr(why),
		    true);
		goto quit;
	}
	if (req->sendopts & SMTPUTF8_FLAG_REQUESTED) {
		utf8 =
		    (req->sendopts & ~SMTPUTF8_FLAG_REQUESTED) != 0 ||
		    smtputf8_8bit(str_ptr(req->sender), str_len(req->sender));
		for (i = 0; i < req->rcpt_count && !utf8; i++)
			utf8 = !state->rs[i].done &&
			       smtputf8_8bit(str_ptr(req->rcpt[i].address),
				   str_len(req->rcpt[i].address));
		if (utf8 && !s->smtputf8) {
			str_fmt(why,
			    "SMTPUTF8 is required, but was not offered "
			    "by host %s",
			    str_ptr(s->namaddr));
			smtp_fail_all(state, str_ptr(s->relay), "5.6.7",
			    str_ptr(why), true);
			goto quit;
		}
	}

	/* MAIL FROM with the extensions the server offers. */
	smtp_envelope_addr(s, addr, str_ptr(req->sender));
	str_fmt(cmd, "MAIL FROM:<%s>", str_ptr(addr));
	if (s->esmtp) {
		if (s->size && req->data_size > 0 && !downgrade)
			str_catfmt(cmd, " SIZE=%ld", req->data_size);
		if (s->eightbit) {
			if (strcmp(str_ptr(req->encoding), "8bit") == 0)
				str_cat(cmd, " BODY=8BITMIME");
			else if (strcmp(str_ptr(req->encoding), "7bit") == 0)
				str_cat(cmd, " BODY=7BIT");
		}
		if (s->smtputf8 && (req->sendopts & SMTPUTF8_FLAG_REQUESTED))
			str_cat(cmd, " SMTPUTF8");
		if (s->dsn) {
			if (req->ret & DSN_RET_FULL)
				str_cat(cmd, " RET=FULL");
			else if (req->ret & DSN_RET_HDRS)
				str_cat(cmd, " RET=HDRS");
			if (str_len(req->envid)) {
				str_cat(cmd, " ENVID=");
				smtp_xtext(cmd, str_ptr(req->envid));
			}
		}
	}
	if (smtp_cmd(s, SMTP_VAR(mail_timeout), str_ptr(cmd)) < 0)
		goto io_mail;
	if (!s->pipelining) {
		if (smtp_reply(s, SMTP_VAR(mail_timeout)) < 0)
			goto io_mail;
		if (s->code / 100 != 2)
			goto mail_rejected;
	}

	/* RCPT TO for each pending recipient. */
	for (i = 0; i < req->rcpt_count; i++) {
		struct deliver_rcpt *r = &req->rcpt[i];

		state->rs[i].accepted = false;
		if (state->rs[i].done)
			continue;
		smtp_envelope_addr(s, addr, str_ptr(r->address));
		str_fmt(cmd, "RCPT TO:<%s>", str_ptr(addr));
		if (s->dsn) {
			/* ORCPT before NOTIFY, as Postfix sends them. */
			if (str_len(r->dsn_orcpt)) {
				const char *semi =
				    strchr(str_ptr(r->dsn_orcpt), ';');

				if (semi) {
					str_cat(cmd, " ORCPT=");
					str_catn(cmd, str_ptr(r->dsn_orcpt),
					    (size_t)(semi + 1 -
						     str_ptr(r->dsn_orcpt)));
					smtp_xtext(cmd, semi + 1);
				}
			}
			if (r->notify & DSN_NOTIFY_NEVER)
				str_cat(cmd, " NOTIFY=NEVER");
			else if (r->notify) {
				const char *sep = " NOTIFY=";

				if (r->notify & DSN_NOTIFY_SUCCESS) {
					str_catfmt(cmd, "%sSUCCESS", sep);
					sep = ",";
				}
				if (r->notify & DSN_NOTIFY_FAILURE) {
					str_catfmt(cmd, "%sFAILURE", sep);
					sep = ",";
				}
				if (r->notify & DSN_NOTIFY_DELAY)
					str_catfmt(cmd, "%sDELAY", sep);
			}
		}
		if (smtp_cmd(s, SMTP_VAR(rcpt_timeout), str_ptr(cmd)) < 0)
			goto io_rcpt;
		sent[nsent++] = i;
		if (!s->pipelining) {
			if (smtp_reply(s, SMTP_VAR(rcpt_timeout)) < 0)
				goto io_rcpt;
			goto rcpt_reply;
		}
		continue;
	rcpt_reply:
		smtp_reply_dsn(s->code, str_ptr(s->reply), dsn);
		if (s->code / 100 == 2 && verify) {
			smtp_rcpt_result(s, i, str_ptr(dsn), str_ptr(s->reply));
		} else if (s->code / 100 == 2) {
			state->rs[i].accepted = true;
			naccepted++;
		} else {
			str_fmt(why,
			    "host %s said: %s (in reply to RCPT TO "
			    "command)",
			    str_ptr(s->namaddr), str_ptr(s->reply));
			smtp_rcpt_result(s, i, str_ptr(dsn), str_ptr(why));
		}
	}
	if (s->pipelining) {
		/* DATA goes in the same write; then the replies in order. */
		if (!verify &&
		    smtp_cmd(s, SMTP_VAR(data_init_timeout), "DATA") < 0)
			goto io_mail;
		if (smtp_reply(s, SMTP_VAR(mail_timeout)) < 0)
			goto io_mail;
		if (s->code / 100 != 2) {
			/* Read (and drop) the RCPT and DATA replies; the
			 * MAIL reply is the one to report. */
			struct str *mail_reply = str_new(0);
			int mail_code = s->code;

			str_set(mail_reply, str_ptr(s->reply));
			for (i = 0; i < nsent + !verify; i++)
				if (smtp_reply(s, SMTP_VAR(rcpt_timeout)) < 0)
					break;
			s->code = mail_code;
			str_set(s->reply, str_ptr(mail_reply));
			str_free(mail_reply);
			goto mail_rejected;
		}
		for (size_t k = 0; k < nsent; k++) {
			i = sent[k];
			if (smtp_reply(s, SMTP_VAR(rcpt_timeout)) < 0)
				goto io_rcpt;
			smtp_reply_dsn(s->code, str_ptr(s->reply), dsn);
			if (s->code / 100 == 2 && verify) {
				smtp_rcpt_result(s, i, str_ptr(dsn),
				    str_ptr(s->reply));
			} else if (s->code / 100 == 2) {
				state->rs[i].accepted = true;
				naccepted++;
			} else {
				str_fmt(why,
				    "host %s said: %s (in reply to "
				    "RCPT TO command)",
				    str_ptr(s->namaddr), str_ptr(s->reply));
				smtp_rcpt_result(s, i, str_ptr(dsn),
				    str_ptr(why));
			}
		}
		if (verify)
			goto rset;
		if (smtp_reply(s, SMTP_VAR(data_init_timeout)) < 0)
			goto io_data;
		if (s->code != 354) {
			if (naccepted > 0)
				goto data_rejected;
			/* MAIL is still in effect. */
			if (s->keep)
				goto rset;
			goto quit;
		}
		if (naccepted == 0) {
			/* 354 without recipients: end the empty message. */
			if (smtp_cmd(s, SMTP_VAR(data_done_timeout), ".") < 0 ||
			    smtp_reply(s, SMTP_VAR(data_done_timeout)) < 0)
				goto out;
			goto quit;
		}
	} else {
		if (naccepted == 0 || verify)
			goto rset;
		if (smtp_cmd(s, SMTP_VAR(data_init_timeout), "DATA") < 0 ||
		    smtp_reply(s, SMTP_VAR(data_init_timeout)) < 0)
			goto io_data;
		if (s->code != 354)
			goto data_rejected;
	}

	/* The message. */
	switch (smtp_send_body(s, downgrade)) {
	case -1:
		smtp_site_io(s, "sending message body");
		goto out;
	case -2:
		msg_warn("%s: queue file read error", str_ptr(req->queue_id));
		smtp_fail_all(state, str_ptr(s->relay), "4.3.0",
		    "error reading message: queue file format error", false);
		goto out;
	case -3: /* DATA left unfinished: the server drops it */
		smtp_hbc_fail(s);
		goto out;
	}
	if (smtp_cmd(s, SMTP_VAR(data_done_timeout), ".") < 0)
		goto io_done;
	if (!smtp_lmtp) {
		if (smtp_reply(s, SMTP_VAR(data_done_timeout)) < 0)
			goto io_done;
		smtp_reply_dsn(s->code, str_ptr(s->reply), dsn);
		if (s->code / 100 == 2)
			str_set(why, str_ptr(s->reply));
		else
			str_fmt(why,
			    "host %s said: %s (in reply to end of DATA "
			    "command)",
			    str_ptr(s->namaddr), str_ptr(s->reply));
		for (i = 0; i < req->rcpt_count; i++)
			if (state->rs[i].accepted && !state->rs[i].done)
				smtp_rcpt_result(s, i, str_ptr(dsn),
				    str_ptr(why));
	} else {
		/* LMTP: one reply per accepted recipient, in order. */
		for (i = 0; i < req->rcpt_count; i++) {
			if (!state->rs[i].accepted || state->rs[i].done)
				continue;
			if (smtp_reply(s, SMTP_VAR(data_done_timeout)) < 0)
				goto io_done;
			smtp_reply_dsn(s->code, str_ptr(s->reply), dsn);
			if (s->code / 100 == 2)
				str_set(why, str_ptr(s->reply));
			else
				str_fmt(why,
				    "host %s said: %s (in reply to end "
				    "of DATA command)",
				    str_ptr(s->namaddr), str_ptr(s->reply));
			smtp_rcpt_result(s, i, str_ptr(dsn), str_ptr(why));
		}
	}
	goto quit;

mail_rejected:
	str_fmt(why, "host %s said: %s (in reply to MAIL FROM command)",
	    str_ptr(s->namaddr), str_ptr(s->reply));
	smtp_site_reply(s, str_ptr(why));
	goto rset;
data_rejected:
	str_fmt(why, "host %s said: %s (in reply to DATA command)",
	    str_ptr(s->namaddr), str_ptr(s->reply));
	smtp_reply_dsn(s->code, str_ptr(s->reply), dsn);
	for (i = 0; i < req->rcpt_count; i++)
		if (state->rs[i].accepted && !state->rs[i].done)
			smtp_rcpt_result(s, i, str_ptr(dsn), str_ptr(why));
	/* The transaction is still open: a kept session needs RSET. */
	if (s->keep)
		goto rset;
	goto quit;
rset:
	if (smtp_cmd(s, SMTP_VAR(rset_timeout), "RSET") < 0 ||
	    smtp_reply(s, SMTP_VAR(rset_timeout)) < 0)
		goto out;
	if (s->code / 100 != 2)
		s->keep = false;
quit:
	/* A session to keep ends clean, without QUIT (as Postfix). */
	if (s->keep) {
		s->reusable = true;
		goto out;
	}
	/* QUIT; the reply is not waited for unless asked. */
	if (smtp_cmd(s, SMTP_VAR(quit_timeout), "QUIT") == 0) {
		if (SMTP_VAR(skip_quit_response))
			(void)stream_flush(s->st);
		else
			(void)smtp_reply(s, SMTP_VAR(quit_timeout));
	}
	goto out;
io_mail:
	smtp_site_io(s, "sending MAIL FROM");
	goto out;
io_rcpt:
	smtp_site_io(s, "sending RCPT TO");
	goto out;
io_data:
	smtp_site_io(s, "sending DATA command");
	goto out;
io_done:
	smtp_site_io(s, "sending end of data -- message may be sent more "
			"than once");
out:
	free(sent);
	str_free(cmd);
	str_free(addr);
	str_free(why);
	str_free(dsn);
}
