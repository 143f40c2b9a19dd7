/*
 * smtpd_proto - the SMTP conversation: commands, replies and the message
 * content, with Postfix's reply texts and log lines.
 *
 * Input is read in pieces of at most line_length_limit bytes: an overlong
 * command is acted on by its first piece (the rest is skipped, with
 * Postfix's "request longer than" warning); an overlong content line goes
 * to cleanup as several records.  The message ends only at <CR><LF>.<CR><LF>
 * (smtpd_forbid_bare_newline = normalize): a bare <LF> ends a content line
 * but never the message.  Every error reply counts towards
 * smtpd_soft_error_limit (then every reply waits smtpd_error_sleep_time)
 * and smtpd_hard_error_limit (then "421 4.7.0 ... too many errors"), until
 * a message is queued; every failed command leaves no transaction
 * behind that a later command could use.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "lib/util/alloc.h"
#include "lib/util/msg.h"
#include "lib/util/str.h"
#include "lib/util/stream.h"
#include "lib/mail/addr.h"
#include "lib/mail/cleanup_proto.h"
#include "lib/mail/mail_date.h"
#include "lib/mail/params.h"
#include "lib/mail/record.h"
#include "smtpd/smtpd.h"
#include "smtpd/smtpd_check.h"

/* Local submissions' flags minus bounces: smtpd rejects instead. */
#define SMTPD_CLEANUP_FLAGS                                                    \
	(CLEANUP_FLAG_FILTER | CLEANUP_FLAG_BCC_OK | CLEANUP_FLAG_MAP_OK)

static const char *smtpd_cmd_names[SMTPD_CMD_COUNT] = {
	"helo",
	"ehlo",
	"xclient",
	"xforward",
	"starttls",
	"auth",
	"mail",
	"rcpt",
	"data",
	"bdat",
	"rset",
	"noop",
	"vrfy",
	"etrn",
	"quit",
	"unknown",
};

static const char *smtpd_cmd_verbs[SMTPD_CMD_COUNT] = {
	"HELO",
	"EHLO",
	"XCLIENT",
	"XFORWARD",
	"STARTTLS",
	"AUTH",
	"MAIL",
	"RCPT",
	"DATA",
	"BDAT",
	"RSET",
	"NOOP",
	"VRFY",
	"ETRN",
	"QUIT",
	"UNKNOWN",
};

/* Read results besides the ones of stream.h. */
#define SMTPD_PIECE 1 /* a piece of a longer line; more follows */

/*
 * Read up to limit bytes through the next LF.  Returns STREAM_OK for a
 * complete line (LF removed, *crlf tells whether a CR preceded it, which
 * is removed too), SMTPD_PIECE for a piece of an overlong line, or a
 * stream error.
 */
static int
smtpd_getline(struct stream *st, struct str *line, size_t limit, bool *crlf)
{
	char c;
	ssize_t n;

	str_reset(line);
	*crlf = false;
	for (;;) {
		n = stream_read(st, &c, 1);
		if (n == 0)
			return STREAM_EOF;
		if (n < 0)
			return stream_status(st) == STREAM_TIMEOUT
				   ? STREAM_TIMEOUT
				   : STREAM_ERROR;
		if (c == '\n') {
			if (str_len(line) > 0 &&
			    str_ptr(line)[str_len(line) - 1] == '\r') {
				str_truncate(line, str_len(line) - 1);
				*crlf = true;
			}
			return STREAM_OK;
		}
		str_catc(line, c);
		/* keep a trailing CR with its LF when it may be one */
		if (str_len(line) >= limit && c != '\r')
			return SMTPD_PIECE;
		if (str_len(line) > limit)
			return SMTPD_PIECE;
	}
}

/*
 * The protocol name in logs and Received: ESMTP, plus S with TLS and A
 * after AUTH (ESMTPSA), as Postfix.
 */
void
smtpd_proto_name(struct smtpd_state *state)
{
	if (!state->esmtp)
		state->proto = "SMTP";
	else if (state->tls && state->sasl_username)
		state->proto = "ESMTPSA";
	else if (state->tls)
		state->proto = "ESMTPS";
	else if (state->sasl_username)
		state->proto = "ESMTPA";
	else
		state->proto = "ESMTP";
}

void
smtpd_reply(struct smtpd_state *state, const char *fmt, ...)
{
	struct str *buf = str_new(100);
	va_list ap;

	va_start(ap, fmt);
	str_vcatfmt(buf, fmt, ap);
	va_end(ap);
	/*
	 * Postfix slows down every reply to a client that has made
	 * smtpd_soft_error_limit errors (counting this one's predecessors)
	 * since it last delivered a message; once per (multi-line) reply.
	 */
	if (state->errors >= var_smtpd_soft_error_limit &&
	    var_smtpd_error_sleep_time > 0 && str_ptr(buf)[3] != '-') {
		stream_flush(state->st);
		sleep((unsigned)var_smtpd_error_sleep_time);
	}
	if (str_ptr(buf)[0] == '4' || str_ptr(buf)[0] == '5')
		state->errors++;
	str_cat(buf, "\r\n");
	stream_write(state->st, str_ptr(buf), str_len(buf));
	str_free(buf);
}

/* Forget the mail transaction (RSET, errors, after DATA). */
void
smtpd_reset(struct smtpd_state *state)
{
	smtpd_check_reset(state);
	free(state->queue_id);
	state->queue_id = NULL;
	free(state->sender);
	state->sender = NULL;
	free(state->first_rcpt);
	state->first_rcpt = NULL;
	state->rcpt_count = 0;
	state->size = 0;
	state->encoding = 0;
	free(state->sasl_sender);
	state->sasl_sender = NULL;
	if (state->cleanup)
		state->cleanup = cleanup_abort(state->cleanup);
}

/* The EHLO reply: the keywords in Postfix's order. */
static void
smtpd_ehlo_keywords(struct smtpd_state *state)
{
	struct argv *kw = argv_new();
	struct str *mechs = str_new(64), *buf = str_new(64);
	size_t i;

	argv_add(kw, "PIPELINING");
	if (var_message_size_limit > 0) {
		str_fmt(buf, "SIZE %ld", var_message_size_limit);
		argv_add(kw, str_ptr(buf));
	} else
		argv_add(kw, "SIZE");
	if (!var_disable_vrfy_command)
		argv_add(kw, "VRFY");
	if (smtpd_tls_offer(state))
		argv_add(kw, "STARTTLS");
	smtpd_sasl_mechs(state, mechs);
	if (str_len(mechs) > 0) {
		str_fmt(buf, "AUTH %s", str_ptr(mechs));
		argv_add(kw, str_ptr(buf));
		if (var_broken_sasl_auth_clients) {
			str_fmt(buf, "AUTH=%s", str_ptr(mechs));
			argv_add(kw, str_ptr(buf));
		}
	}
	smtpd_xclient_ehlo(state, kw);
	argv_add(kw, "ENHANCEDSTATUSCODES");
	argv_add(kw, "8BITMIME");
	smtpd_reply(state, "250%c%s", kw->argc ? '-' : ' ', var_myhostname);
	for (i = 0; i < kw->argc; i++)
		smtpd_reply(state, "250%c%s", i + 1 < kw->argc ? '-' : ' ',
		    kw->argv[i]);
	argv_free(kw);
	str_free(mechs);
	str_free(buf);
}

static bool
smtpd_helo(struct smtpd_state *state, const char *arg, bool esmtp)
{
	const char *reply;

	if (*arg == 0) {
		smtpd_reply(state, "501 Syntax: %s hostname",
		    esmtp ? "EHLO" : "HELO");
		return false;
	}
	if ((reply = smtpd_check_helo(state, arg)) != NULL) {
		smtpd_reply(state, "%s", reply);
		return false;
	}
	smtpd_reset(state);
	free(state->helo);
	state->helo = xstrdup(arg);
	state->esmtp = esmtp;
	smtpd_proto_name(state);
	if (!esmtp) {
		smtpd_reply(state, "250 %s", var_myhostname);
		return true;
	}
	smtpd_ehlo_keywords(state);
	return true;
}

static bool
smtpd_mail(struct smtpd_state *state, const char *arg)
{
	struct str *addr = str_new(100), *why = str_new(100);
	const char *rest, *p, *reply;
	char *copy, *tok;
	bool ok = false;
	int rc;

	if (state->sender) {
		smtpd_reply(state, "503 5.5.1 Error: nested MAIL command");
		goto out;
	}
	if (strncasecmp(arg, "FROM:", 5) != 0) {
		smtpd_reply(state, "501 5.5.4 Syntax: MAIL FROM:<address>");
		goto out;
	}
	if ((rc = smtpd_parse_addr(arg + 5, addr, &rest)) == -2) {
		smtpd_reply(state, "501 5.5.4 Syntax: MAIL FROM:<address>");
		goto out;
	}
	if (rc < 0) {
		msg_warn("Illegal address syntax from %s in MAIL command: %s",
		    str_ptr(state->namaddr), arg + 5);
		smtpd_reply(state, "501 5.1.7 Bad sender address syntax");
		goto out;
	}
	state->size = 0;
	state->encoding = 0;
	copy = xstrdup(rest);
	for (tok = copy; (p = strsep(&tok, " \t")) != NULL;) {
		char *end;

		if (*p == 0)
			continue;
		if (strncasecmp(p, "SIZE=", 5) == 0) {
			state->size = strtol(p + 5, &end, 10);
			if (*end || end == p + 5 || state->size < 0) {
				smtpd_reply(state, "501 5.5.4 Bad message size "
						   "syntax");
				free(copy);
				goto out;
			}
		} else if (strncasecmp(p, "AUTH=", 5) == 0) {
			if (smtpd_sasl_mail_param(state, p + 5) < 0) {
				free(copy);
				goto out;
			}
		} else if (strcasecmp(p, "BODY=8BITMIME") == 0) {
			state->encoding = 8;
		} else if (strcasecmp(p, "BODY=7BIT") == 0) {
			state->encoding = 7;
		} else {
			smtpd_reply(state, "555 5.5.4 Unsupported option: %s",
			    p);
			free(copy);
			goto out;
		}
	}
	free(copy);
	if (var_message_size_limit > 0 &&
	    state->size > var_message_size_limit) {
		msg_info("NOQUEUE: reject: MAIL from %s: 552 5.3.4 Message "
			 "size exceeds fixed limit; from=<%s> proto=%s "
			 "helo=<%s>",
		    str_ptr(state->namaddr), str_ptr(addr), state->proto,
		    state->helo ? state->helo : "");
		smtpd_reply(state,
		    "552 5.3.4 Message size exceeds fixed limit");
		goto out;
	}
	if (smtpd_anvil_mail(state, why) < 0) {
		smtpd_reply(state, "%s", str_ptr(why));
		goto out;
	}
	if ((reply = smtpd_check_mail(state, str_ptr(addr))) != NULL) {
		smtpd_reply(state, "%s", reply);
		goto out;
	}
	state->sender = xstrdup(str_ptr(addr));
	smtpd_reply(state, "250 2.1.0 Ok");
	ok = true;
out:
	str_free(addr);
	str_free(why);
	return ok;
}

/* Open cleanup and send the envelope up to the first recipient. */
static int
smtpd_open_cleanup(struct smtpd_state *state)
{
	struct str *why = str_new(100);
	struct stream *out;

	state->cleanup =
	    cleanup_open("public/cleanup", SMTPD_CLEANUP_FLAGS, why);
	if (state->cleanup == NULL) {
		msg_warn("%s", str_ptr(why));
		str_free(why);
		return -1;
	}
	str_free(why);
	state->queue_id = xstrdup(cleanup_queue_id(state->cleanup));
	msg_info("%s: client=%s%s%s%s%s%s%s", state->queue_id,
	    str_ptr(state->namaddr), state->sasl_method ? ", sasl_method=" : "",
	    state->sasl_method ? state->sasl_method : "",
	    state->sasl_username ? ", sasl_username=" : "",
	    state->sasl_username ? state->sasl_username : "",
	    state->sasl_sender ? ", sasl_sender=" : "",
	    state->sasl_sender ? state->sasl_sender : "");
	out = cleanup_stream(state->cleanup);
	rec_fmt(out, REC_TYPE_TIME, "%ld 0", (long)time(NULL));
	rec_fmt(out, REC_TYPE_ATTR, "log_client_name=%s", str_ptr(state->name));
	rec_fmt(out, REC_TYPE_ATTR, "log_client_address=%s",
	    str_ptr(state->addr));
	if (state->helo)
		rec_fmt(out, REC_TYPE_ATTR, "log_helo_name=%s", state->helo);
	rec_fmt(out, REC_TYPE_ATTR, "log_protocol_name=%s", state->proto);
	rec_fmt(out, REC_TYPE_ATTR, "rewrite_context=%s",
	    smtpd_check_rewrite(state) ? "local" : "remote");
	if (state->sasl_method)
		rec_fmt(out, REC_TYPE_ATTR, "sasl_method=%s",
		    state->sasl_method);
	if (state->sasl_username)
		rec_fmt(out, REC_TYPE_ATTR, "sasl_username=%s",
		    state->sasl_username);
	if (state->sasl_sender)
		rec_fmt(out, REC_TYPE_ATTR, "sasl_sender=%s",
		    state->sasl_sender);
	if (state->encoding)
		rec_fmt(out, REC_TYPE_ATTR, "encoding=%dbit", state->encoding);
	smtpd_xforward_records(state, out);
	rec_puts(out, REC_TYPE_FROM, state->sender);
	return 0;
}

static bool
smtpd_rcpt(struct smtpd_state *state, const char *arg)
{
	struct str *addr = str_new(100), *reply = str_new(100);
	const char *rest, *check;
	bool ok = false;
	int rc;

	if (state->sender == NULL) {
		smtpd_reply(state, "503 5.5.1 Error: need MAIL command");
		goto out;
	}
	if (strncasecmp(arg, "TO:", 3) != 0) {
		smtpd_reply(state, "501 5.5.4 Syntax: RCPT TO:<address>");
		goto out;
	}
	if ((rc = smtpd_parse_addr(arg + 3, addr, &rest)) == -2) {
		smtpd_reply(state, "501 5.5.4 Syntax: RCPT TO:<address>");
		goto out;
	}
	if (rc < 0 || str_len(addr) == 0) {
		msg_warn("Illegal address syntax from %s in RCPT command: %s",
		    str_ptr(state->namaddr), arg + 3);
		smtpd_reply(state, "501 5.1.3 Bad recipient address syntax");
		goto out;
	}
	if (*rest) {
		smtpd_reply(state, "555 5.5.4 Unsupported option: %s", rest);
		goto out;
	}
	if (state->rcpt_count >= var_smtpd_recipient_limit) {
		smtpd_reply(state, "452 4.5.3 Error: too many recipients");
		goto out;
	}
	if (smtpd_anvil_rcpt(state, reply) < 0) {
		smtpd_reply(state, "%s", str_ptr(reply));
		goto out;
	}
	if ((check = smtpd_check_rcpt(state, str_ptr(addr))) != NULL) {
		smtpd_reply(state, "%s", check);
		goto out;
	}
	if (state->cleanup == NULL && smtpd_open_cleanup(state) < 0) {
		smtpd_reply(state, "451 4.3.0 Error: queue file write error");
		goto out;
	}
	rec_puts(cleanup_stream(state->cleanup), REC_TYPE_RCPT, str_ptr(addr));
	if (state->rcpt_count++ == 0)
		state->first_rcpt = xstrdup(str_ptr(addr));
	smtpd_reply(state, "250 2.1.5 Ok");
	ok = true;
out:
	str_free(addr);
	str_free(reply);
	return ok;
}

/* The Received: header, as Postfix's smtpd writes it. */
static void
smtpd_received(struct smtpd_state *state, struct stream *out)
{
	struct str *date = str_new(64), *ext = str_new(100);
	char *lines, *line;

	mail_date(date, time(NULL));
	rec_fmt(out, REC_TYPE_NORM, "Received: from %s (%s [%s])",
	    state->helo ? state->helo : str_ptr(state->name),
	    str_ptr(state->name), str_ptr(state->addr));
	/* "\t(using TLSv1.3 with cipher ...)" lines, one per '\n' */
	smtpd_tls_received(state, ext);
	lines = str_len(ext) ? xstrdup(str_ptr(ext)) : NULL;
	for (char *cp = lines; (line = strsep(&cp, "\n")) != NULL;)
		if (*line)
			rec_puts(out, REC_TYPE_NORM, line);
	free(lines);
	if (state->sasl_username && var_smtpd_sasl_authenticated_header)
		rec_fmt(out, REC_TYPE_NORM, "\t(Authenticated sender: %s)",
		    state->sasl_username);
	if (state->rcpt_count == 1) {
		rec_fmt(out, REC_TYPE_NORM, "\tby %s (%s) with %s id %s",
		    var_myhostname, var_mail_name, state->proto,
		    cleanup_queue_id(state->cleanup));
		addr_externalize(ext, state->first_rcpt);
		rec_fmt(out, REC_TYPE_NORM, "\tfor <%s>; %s", str_ptr(ext),
		    str_ptr(date));
	} else {
		rec_fmt(out, REC_TYPE_NORM, "\tby %s (%s) with %s id %s;",
		    var_myhostname, var_mail_name, state->proto,
		    cleanup_queue_id(state->cleanup));
		rec_fmt(out, REC_TYPE_NORM, "\t%s", str_ptr(date));
	}
	str_free(date);
	str_free(ext);
}

/*
 * DATA: copy the content to cleanup until <CR><LF>.<CR><LF>.  Returns
 * false when the connection is gone (the caller logs it).
 */
static bool
smtpd_data(struct smtpd_state *state, bool *ok)
{
	struct str *line = str_new(256), *why = str_new(100);
	struct stream *out;
	bool crlf, prev_crlf = true, start = true, too_big = false;
	const char *qid, *check;
	long total = 0;
	int rc, status;

	*ok = false;
	if (state->rcpt_count == 0) {
		/* Postfix keeps the sender after "no valid recipients" */
		if (state->sender == NULL)
			smtpd_reply(state,
			    "503 5.5.1 Error: need RCPT command");
		else
			smtpd_reply(state,
			    "554 5.5.1 Error: no valid recipients");
		str_free(line);
		str_free(why);
		return true;
	}
	if ((check = smtpd_check_data(state)) != NULL) {
		smtpd_reply(state, "%s", check);
		smtpd_reset(state);
		str_free(line);
		str_free(why);
		return true;
	}
	out = cleanup_stream(state->cleanup);
	smtpd_check_envelope(state, out);
	rec_put(out, REC_TYPE_MESG, "", 0);
	smtpd_check_prepend(state, out);
	smtpd_received(state, out);
	smtpd_reply(state, "354 End data with <CR><LF>.<CR><LF>");
	state->in_data = true;
	state->data_bytes = 0;
	for (;;) {
		rc = smtpd_getline(state->st, line,
		    (size_t)var_line_length_limit, &crlf);
		if (rc < 0) {
			if (rc == STREAM_TIMEOUT)
				state->where = "timeout";
			str_free(line);
			str_free(why);
			return false;
		}
		state->data_bytes += (long)str_len(line) +
				     (rc == STREAM_OK ? (crlf ? 2 : 1) : 0);
		if (start && rc == STREAM_OK && crlf && prev_crlf &&
		    str_len(line) == 1 && str_ptr(line)[0] == '.')
			break;
		/* dot-unstuffing, at the start of a line only */
		if (start && str_len(line) > 0 && str_ptr(line)[0] == '.')
			memmove(str_ptr(line), str_ptr(line) + 1,
			    str_len(line)--);
		total += (long)str_len(line) + (rc == STREAM_OK ? 2 : 0);
		if (var_message_size_limit > 0 &&
		    total > var_message_size_limit)
			too_big = true;
		if (!too_big)
			rec_put(out,
			    rc == STREAM_OK ? REC_TYPE_NORM : REC_TYPE_CONT,
			    str_ptr(line), str_len(line));
		start = (rc == STREAM_OK);
		if (start)
			prev_crlf = crlf;
	}
	state->in_data = false;
	state->where = "END-OF-MESSAGE";
	qid = cleanup_queue_id(state->cleanup);
	if (too_big) {
		msg_warn("%s: queue file size limit exceeded", qid);
		smtpd_reply(state, "552 5.3.4 Error: message file too big");
		smtpd_reset(state);
		str_free(line);
		str_free(why);
		return true;
	}
	if ((check = smtpd_check_eod(state)) != NULL) {
		smtpd_reply(state, "%s", check);
		smtpd_reset(state);
		str_free(line);
		str_free(why);
		return true;
	}
	rec_put(out, REC_TYPE_XTRA, "", 0);
	rec_put(out, REC_TYPE_END, "", 0);
	str_set(line, qid);
	status = cleanup_close(state->cleanup, why);
	state->cleanup = NULL;
	if (status == 0) {
		state->errors = 0; /* a delivered message forgives */
		smtpd_reply(state, "250 2.0.0 Ok: queued as %s", str_ptr(line));
		*ok = true;
	} else if ((status & CLEANUP_STAT_CONT) && str_len(why) > 0) {
		smtpd_reply(state, "%s %s", cleanup_stat_smtp(status)->code,
		    str_ptr(why));
	} else {
		const struct cleanup_smtp *sp = cleanup_stat_smtp(status);

		smtpd_reply(state, "%s %s Error: %s", sp->code, sp->dsn,
		    sp->text);
	}
	smtpd_reset(state);
	str_free(line);
	str_free(why);
	return true;
}

void
smtpd_log_disconnect(struct smtpd_state *state)
{
	struct str *buf = str_new(200);
	int i, ok = 0, total = 0;

	for (i = 0; i < SMTPD_CMD_COUNT; i++) {
		if (state->total[i] == 0)
			continue;
		ok += state->ok[i];
		total += state->total[i];
		if (state->ok[i] == state->total[i])
			str_catfmt(buf, " %s=%d", smtpd_cmd_names[i],
			    state->total[i]);
		else
			str_catfmt(buf, " %s=%d/%d", smtpd_cmd_names[i],
			    state->ok[i], state->total[i]);
	}
	if (ok == total)
		str_catfmt(buf, " commands=%d", total);
	else
		str_catfmt(buf, " commands=%d/%d", ok, total);
	msg_info("disconnect from %s%s", str_ptr(state->namaddr), str_ptr(buf));
	smtpd_reset(state);
	free(state->helo);
	state->helo = NULL;
	str_free(buf);
}

/* Log why the conversation ended early. */
static void
smtpd_lost(struct smtpd_state *state, int rc, const char *where)
{
	struct str *what = str_new(64);

	if (state->in_data)
		str_fmt(what, "DATA (%ld bytes)", state->data_bytes);
	else
		str_set(what, where);
	if (rc == STREAM_TIMEOUT) {
		msg_info("timeout after %s from %s", str_ptr(what),
		    str_ptr(state->namaddr));
		stream_set_deadline(state->st, 0);
		smtpd_reply(state, "421 4.4.2 %s Error: timeout exceeded",
		    var_myhostname);
		stream_flush(state->st);
	} else {
		msg_info("lost connection after %s from %s", str_ptr(what),
		    str_ptr(state->namaddr));
	}
	str_free(what);
}

void
smtpd_proto(struct smtpd_state *state)
{
	struct str *line = str_new(256), *skip = str_new(256);
	const char *where = "CONNECT", *arg, *reply;
	char *verb;
	bool crlf, ok, alive;
	int rc, cmd;
	size_t n;

	state->proto = "SMTP";
	state->alive = true;
	stream_set_timeout(state->st, var_smtpd_timeout * 1000);
	if ((reply = smtpd_check_connect(state)) != NULL)
		smtpd_reply(state, "%s", reply);
	else
		smtpd_reply(state, "220 %s", var_smtpd_banner);
	for (;;) {
		rc = smtpd_getline(state->st, line,
		    (size_t)var_line_length_limit, &crlf);
		if (rc == SMTPD_PIECE) {
			msg_warn("%s: request longer than %d: %.30s...",
			    str_ptr(state->namaddr), var_line_length_limit,
			    str_ptr(line));
			while ((rc = smtpd_getline(state->st, skip,
				    (size_t)var_line_length_limit, &crlf)) ==
			       SMTPD_PIECE)
				;
		}
		if (rc < 0) {
			smtpd_lost(state, rc, where);
			break;
		}
		/* Postfix strips trailing white space and a leftover CR */
		while (str_len(line) > 0 &&
		       (str_ptr(line)[str_len(line) - 1] == ' ' ||
			   str_ptr(line)[str_len(line) - 1] == '\t' ||
			   str_ptr(line)[str_len(line) - 1] == '\r'))
			str_truncate(line, str_len(line) - 1);
		verb = str_ptr(line);
		n = strcspn(verb, " \t");
		arg = verb + n;
		while (*arg == ' ' || *arg == '\t')
			arg++;
		cmd = SMTPD_CMD_UNKNOWN;
		if (memchr(str_ptr(line), 0, str_len(line)) == NULL) {
			static const struct {
				const char *name;
				int cmd;
			} table[] = {
				{ "HELO", SMTPD_CMD_HELO },
				{ "EHLO", SMTPD_CMD_EHLO },
				{ "XCLIENT", SMTPD_CMD_XCLIENT },
				{ "XFORWARD", SMTPD_CMD_XFORWARD },
				{ "STARTTLS", SMTPD_CMD_STARTTLS },
				{ "AUTH", SMTPD_CMD_AUTH },
				{ "MAIL", SMTPD_CMD_MAIL },
				{ "RCPT", SMTPD_CMD_RCPT },
				{ "DATA", SMTPD_CMD_DATA },
				{ "RSET", SMTPD_CMD_RSET },
				{ "NOOP", SMTPD_CMD_NOOP },
				{ "VRFY", SMTPD_CMD_VRFY },
				{ "QUIT", SMTPD_CMD_QUIT },
			};
			size_t i;

			for (i = 0; i < sizeof(table) / sizeof(table[0]); i++)
				if (n == strlen(table[i].name) &&
				    strncasecmp(verb, table[i].name, n) == 0)
					cmd = table[i].cmd;
		}
		where = smtpd_cmd_verbs[cmd];
		state->total[cmd]++;
		ok = false;
		alive = true;
		if (smtpd_tls_required(state) && cmd != SMTPD_CMD_HELO &&
		    cmd != SMTPD_CMD_EHLO && cmd != SMTPD_CMD_STARTTLS &&
		    cmd != SMTPD_CMD_NOOP && cmd != SMTPD_CMD_QUIT &&
		    cmd != SMTPD_CMD_UNKNOWN) {
			smtpd_reply(state,
			    "530 5.7.0 Must issue a STARTTLS command first");
		} else
			switch (cmd) {
			case SMTPD_CMD_HELO:
			case SMTPD_CMD_EHLO:
				ok = smtpd_helo(state, arg,
				    cmd == SMTPD_CMD_EHLO);
				break;
			case SMTPD_CMD_XCLIENT:
				ok = smtpd_cmd_xclient(state, arg);
				break;
			case SMTPD_CMD_XFORWARD:
				ok = smtpd_cmd_xforward(state, arg);
				break;
			case SMTPD_CMD_STARTTLS:
				ok = smtpd_cmd_starttls(state, arg);
				break;
			case SMTPD_CMD_AUTH:
				ok = smtpd_cmd_auth(state, arg);
				break;
			case SMTPD_CMD_MAIL:
				ok = smtpd_mail(state, arg);
				break;
			case SMTPD_CMD_RCPT:
				ok = smtpd_rcpt(state, arg);
				break;
			case SMTPD_CMD_DATA:
				if (*arg) {
					smtpd_reply(state,
					    "501 5.5.4 Syntax: DATA");
					break;
				}
				state->where = NULL;
				alive = smtpd_data(state, &ok);
				if (!alive)
					smtpd_lost(state,
					    state->where ? STREAM_TIMEOUT
							 : STREAM_EOF,
					    where);
				where = "END-OF-MESSAGE";
				break;
			case SMTPD_CMD_RSET:
				smtpd_reset(state);
				smtpd_reply(state, "250 2.0.0 Ok");
				ok = true;
				break;
			case SMTPD_CMD_NOOP:
				smtpd_reply(state, "250 2.0.0 Ok");
				ok = true;
				break;
			case SMTPD_CMD_VRFY:
				if (var_disable_vrfy_command) {
					smtpd_reply(state,
					    "502 5.5.1 VRFY command is disabled");
				} else if (*arg == 0) {
					smtpd_reply(state,
					    "501 5.5.4 Syntax: VRFY address");
				} else if ((reply = smtpd_check_vrfy(state,
						arg)) != NULL) {
					smtpd_reply(state, "%s", reply);
				} else {
					smtpd_reply(state, "252 2.0.0 %s", arg);
					ok = true;
				}
				break;
			case SMTPD_CMD_QUIT:
				smtpd_reply(state, "221 2.0.0 Bye");
				state->ok[cmd]++;
				stream_flush(state->st);
				goto out;
			default:
				smtpd_reply(state,
				    "500 5.5.2 Error: command not recognized");
				break;
			}
		if (ok)
			state->ok[cmd]++;
		if (!alive || !state->alive)
			break;
		if (state->errors >= var_smtpd_hard_error_limit) {
			msg_info("too many errors after %s from %s", where,
			    str_ptr(state->namaddr));
			smtpd_reply(state,
			    "421 4.7.0 %s Error: too many errors",
			    var_myhostname);
			stream_flush(state->st);
			break;
		}
	}
out:
	str_free(line);
	str_free(skip);
}
